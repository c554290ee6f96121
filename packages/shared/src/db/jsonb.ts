import { sql, type ColumnType, type RawBuilder } from 'kysely';

/**
 * A jsonb column: selects as `T` (both drivers parse JSON); inserts and updates take only
 * the `jsonb(value)` expression. A plain value is a type error on purpose: pg turns a
 * JavaScript array parameter into a PostgreSQL array literal, which jsonb rejects, while
 * PGlite accepts it, so the mistake would pass the PGlite tests and fail in production.
 */
export type JsonbColumn<T> = ColumnType<T, RawBuilder<T>, RawBuilder<T>>;

/**
 * A value for a jsonb column, sent as JSON text and cast in SQL, which behaves the same
 * on pg and PGlite for objects, arrays, strings, numbers and null.
 */
export function jsonb<T>(value: T): RawBuilder<T> {
  return sql<T>`cast(${JSON.stringify(value)} as jsonb)`;
}
