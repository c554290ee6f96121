/**
 * Database plumbing shared by the services.
 *
 * A service opens a Database (`createDatabase`), takes the Kysely for its own schema
 * (`forSchema`), runs its migrations at start (`migrateToLatest`) and writes repositories as
 * plain functions taking that Kysely or a transaction first.
 *
 * Rules for repository authors:
 * - Tables have `id uuid` (from `newId()`), `tm_create`/`tm_update`/`tm_delete`
 *   (`addTimestampColumns`, `TimestampColumns`; list indexes from `createListIndex`); reads of live rows filter
 *   `where('tm_delete', 'is', null)`, deletes are soft (`deletionTimestamps()`).
 * - Timestamps are canonical strings (`2026-01-02T03:04:05.123456Z`) on both engines; write
 *   them from `currentTimestamp()` (or the helpers built on it), never from a Date.
 * - jsonb columns are `JsonbColumn<T>` and written with `jsonb(value)`.
 * - Lists: `listQuerySchema` for the query, `listPage(query, page)` (or `paginate` +
 *   `toListResponse`) for the `{ result, next_page_token }` body.
 * - Raw `sql` is not schema-qualified for you: use `sql.id(schema, 'table')`.
 * - Timestamps inside JSON built in SQL (json_build_object, jsonArrayFrom) bypass the driver
 *   parsers and come as `2026-01-02T03:04:05.12+00:00`: pass them through `toApiTimestamp`.
 * - Unique violations: `isUniqueViolation(error, 'constraint_name')`.
 */
export * from './create-database.ts';
export * from './migrate.ts';
export * from './timestamps.ts';
export * from './list-index.ts';
export * from './pagination.ts';
export * from './jsonb.ts';
export * from './database-errors.ts';
export * from './ids.ts';
export * from './prepared-query.ts';
