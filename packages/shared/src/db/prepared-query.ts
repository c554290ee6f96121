import { createQueryId, type CompiledQuery, type Compilable, type Kysely } from 'kysely';
import { directQueryOf } from './create-database.ts';

/**
 * A hot read built with Kysely once and then only executed: building a query, running the
 * schema plugin over it and compiling it to SQL costs more CPU than pg spends on the query
 * itself, for SQL that is the same every time. `build` receives, for each parameter name, a
 * placeholder string to use where the value goes (only as a bound value: `where('id', '=',
 * id)`, never as an identifier or inside raw SQL text); the SQL it compiles to is kept per
 * Kysely (per schema handle; a transaction compiles its own) and later calls bind the given
 * values in the placeholders' places. Values are bound parameters as with the builder, so
 * nothing about escaping changes. Use it only for queries whose SQL depends on nothing but
 * their Kysely (no optional clauses, no lists of varying length).
 *
 *   const findNote = preparedQuery(['id'], (db: NotesDb, { id }) =>
 *     db.selectFrom('notes').selectAll().where('id', '=', id).where('tm_delete', 'is', null));
 *   const [note] = await findNote(db, { id });
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema's Kysely or transaction
export function preparedQuery<Db extends Kysely<any>, Name extends string, Row>(
  names: readonly Name[],
  build: (db: Db, placeholders: Record<Name, string>) => Compilable<Row>,
): (db: Db, values: Record<Name, unknown>) => Promise<Row[]> {
  const marker = `\u0000prepared:${Math.random().toString(36).slice(2)}:`;
  const placeholders = Object.fromEntries(names.map((name) => [name, `${marker}${name}`])) as Record<Name, string>;
  const compiled = new WeakMap<Db, { template: CompiledQuery<Row>; slots: (Name | undefined)[] }>();
  const compile = (db: Db) => {
    const template = build(db, placeholders).compile();
    const slots = template.parameters.map((value) =>
      typeof value === 'string' && value.startsWith(marker) ? (value.slice(marker.length) as Name) : undefined,
    );
    const used = new Set(slots.filter((slot) => slot !== undefined));
    const unused = names.filter((name) => !used.has(name));
    if (unused.length > 0) throw new Error(`preparedQuery: the placeholder of ${unused.join(', ')} is not a bound parameter of the query`);
    const entry = { template, slots };
    compiled.set(db, entry);
    return entry;
  };
  return async (db, values) => {
    const { template, slots } = compiled.get(db) ?? compile(db);
    const parameters = template.parameters.map((value, index) => {
      const slot = slots[index];
      return slot === undefined ? value : values[slot];
    });
    // On PostgreSQL, straight to a pooled connection: the SQL is final and no plugin of ours
    // changes result rows, so Kysely's execution path would only add work.
    const direct = directQueryOf(db);
    if (direct) return (await direct(template.sql, parameters)) as Row[];
    const query: CompiledQuery<Row> = { sql: template.sql, query: template.query, parameters, queryId: createQueryId() };
    return (await db.executeQuery(query)).rows;
  };
}
