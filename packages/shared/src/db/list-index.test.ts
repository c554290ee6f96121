import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createListIndex } from './list-index.ts';

/** The SQL createListIndex runs, compiled for PostgreSQL without a database. */
async function listIndexSql(table: string, leading?: string): Promise<string[]> {
  const statements: string[] = [];
  const db = new Kysely<unknown>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (kysely) => new PostgresIntrospector(kysely),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
    log: (event) => {
      statements.push(event.query.sql);
    },
  });
  await createListIndex(db, table, leading);
  await db.destroy();
  return statements;
}

describe('createListIndex', () => {
  // Migrations that ran already used this SQL: it must not change.
  it('indexes live rows by owner, newest first', async () => {
    expect(await listIndexSql('calls')).toEqual([
      'create index "calls_list_idx" on "calls" ("customer_id", tm_create desc, id desc) where "tm_delete" is null',
    ]);
    expect(await listIndexSql('aimessages', 'aicall_id')).toEqual([
      'create index "aimessages_list_idx" on "aimessages" ("aicall_id", tm_create desc, id desc) where "tm_delete" is null',
    ]);
  });
});
