import pg from 'pg';
import { toApiTimestampOrRaw } from './timestamps.ts';

/**
 * Result parsers that make pg and PGlite return the same JavaScript values. Left alone they
 * differ: pg gives timestamptz as a millisecond Date and int8 as a string, PGlite gives a
 * Date and a number (bigint beyond 2^53). Both now give timestamptz as the canonical
 * microsecond string and int8 as a number (bigint when it would not fit exactly).
 * json/jsonb, numeric (string), date and timestamp without time zone already agree.
 */

const TIMESTAMPTZ = 1184;
const TIMESTAMPTZ_ARRAY = 1185;
const INT8 = 20;

function parseInt8(text: string): number | bigint {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : BigInt(text);
}

// Elements of a timestamptz[] never contain commas or escaped quotes, so a split suffices.
function parseTimestamptzArray(text: string): (string | null)[] {
  const inner = text.slice(1, -1);
  if (inner === '') return [];
  return inner.split(',').map((element) => {
    if (element === 'NULL') return null;
    return toApiTimestampOrRaw(element.replace(/^"|"$/g, ''));
  });
}

/** Parsers for `PGlite.create({ parsers })`; PGlite derives array parsers from these itself. */
export const pgliteParsers: Record<number, (text: string) => unknown> = {
  [TIMESTAMPTZ]: toApiTimestampOrRaw,
  [INT8]: parseInt8,
};

const postgresParsers: Record<number, (text: string) => unknown> = {
  ...pgliteParsers,
  [TIMESTAMPTZ_ARRAY]: parseTimestamptzArray,
};

/**
 * The `types` option for a pg Pool. Passed per pool rather than set on pg's global type
 * registry, so other pg users in the process are not affected.
 */
export const postgresTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    const parser = format === 'binary' ? undefined : postgresParsers[oid];
    return parser ?? pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};
