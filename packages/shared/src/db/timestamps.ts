import { sql, type ColumnType, type CreateTableBuilder } from 'kysely';

/**
 * Timestamps travel as strings in one canonical form, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
 * always six fraction digits), from the database row to the API response. A JavaScript Date
 * would lose PostgreSQL's microseconds, and pagination tokens compare at microsecond
 * precision, so no Date ever sits between the database and the wire.
 */
export type Timestamp = string;

/** The canonical timestamp shape, for validation and tests. */
export const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

// PostgreSQL's text output (`2026-01-02 03:04:05.12+00`), its JSON output
// (`2026-01-02T03:04:05.12+00:00`) and ISO-8601 input (`...Z`) all match this.
const timestampInputPattern =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2}){0,2})$/i;

const utcTextPattern = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{1,6}\+00$/;

/**
 * Formats a timestamp the way the API shows it: `2026-01-02T03:04:05.123456Z`. Accepts
 * PostgreSQL text or JSON output in any time zone, ISO-8601 strings and Dates (which carry
 * milliseconds only, so their last three digits are zeros). Throws on anything else.
 */
export function toApiTimestamp(value: string | Date): Timestamp {
  // What nearly every row carries: PostgreSQL's text output in UTC with a fraction
  // (`2026-01-02 03:04:05.123456+00`; trailing zeros of the fraction dropped), read on every
  // response, so it skips the general parse.
  if (typeof value === 'string' && utcTextPattern.test(value)) {
    const fraction = value.slice(20, -3);
    return `${value.slice(0, 10)}T${value.slice(11, 19)}.${fraction.length === 6 ? fraction : fraction.padEnd(6, '0')}Z`;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new RangeError('Invalid Date');
    return `${value.toISOString().slice(0, 23)}000Z`;
  }
  const match = timestampInputPattern.exec(value);
  if (!match) throw new RangeError(`Not a timestamp: ${JSON.stringify(value)}`);
  const [, year, month, day, hour, minute, second, fraction = '', offset = 'Z'] = match;
  const microseconds = fraction.padEnd(6, '0').slice(0, 6);
  const offsetSeconds = parseOffsetSeconds(offset);
  if (offsetSeconds === 0) return `${year}-${month}-${day}T${hour}:${minute}:${second}.${microseconds}Z`;
  // Only the whole seconds need shifting; the fraction is unaffected by a time zone.
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second));
  const shifted = new Date(utc - offsetSeconds * 1000).toISOString().slice(0, 19);
  return `${shifted}.${microseconds}Z`;
}

/** Like toApiTimestamp but never throws: driver parsers must not fail on `infinity` or BC dates. */
export function toApiTimestampOrRaw(value: string): string {
  try {
    return toApiTimestamp(value);
  } catch {
    return value;
  }
}

function parseOffsetSeconds(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replaceAll(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  const seconds = Number(digits.slice(4, 6) || '0');
  return sign * (hours * 3600 + minutes * 60 + seconds);
}

let lastMicroseconds = 0;

/**
 * The current time as a canonical timestamp, strictly increasing within this process.
 * Rows created in the same millisecond still get distinct, ordered `tm_create` values (the
 * microsecond digits count up), so lists keep insertion order. Across processes values may
 * collide; pagination breaks such ties by id.
 */
export function currentTimestamp(): Timestamp {
  const microseconds = Math.max(Date.now() * 1000, lastMicroseconds + 1);
  lastMicroseconds = microseconds;
  const milliseconds = Math.floor(microseconds / 1000);
  const extra = String(microseconds % 1000).padStart(3, '0');
  return `${new Date(milliseconds).toISOString().slice(0, 23)}${extra}Z`;
}

/**
 * Kysely column types for the three standard timestamp columns. Select gives the canonical
 * string; inserts may omit them (the database default applies) or give a string/expression;
 * `tm_create` never changes after insert.
 */
export interface TimestampColumns {
  tm_create: ColumnType<Timestamp, Timestamp | undefined, never>;
  tm_update: ColumnType<Timestamp, Timestamp | undefined, Timestamp>;
  tm_delete: ColumnType<Timestamp | null, Timestamp | null | undefined, Timestamp | null>;
}

/** Values for a new row: `tm_create` and `tm_update` are the same instant. */
export function creationTimestamps(): { tm_create: Timestamp; tm_update: Timestamp } {
  const now = currentTimestamp();
  return { tm_create: now, tm_update: now };
}

/** Values for an update. */
export function updateTimestamps(): { tm_update: Timestamp } {
  return { tm_update: currentTimestamp() };
}

/** Values for a soft delete: the row stays, `tm_delete` marks it gone (lists use `tm_delete IS NULL`). */
export function deletionTimestamps(): { tm_update: Timestamp; tm_delete: Timestamp } {
  const now = currentTimestamp();
  return { tm_update: now, tm_delete: now };
}

/**
 * Adds `tm_create`, `tm_update` (timestamptz, not null) and `tm_delete` (nullable) to a table
 * in a migration: `db.schema.createTable('ais')...$call(addTimestampColumns)`. The defaults
 * use clock_timestamp() rather than now(), so rows inserted in one transaction without
 * explicit values still differ (now() is the transaction's start time).
 */
export function addTimestampColumns<TableName extends string, Columns extends string>(
  table: CreateTableBuilder<TableName, Columns>,
): CreateTableBuilder<TableName, Columns | 'tm_create' | 'tm_update' | 'tm_delete'> {
  return table
    .addColumn('tm_create', 'timestamptz', (column) => column.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('tm_update', 'timestamptz', (column) => column.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('tm_delete', 'timestamptz');
}
