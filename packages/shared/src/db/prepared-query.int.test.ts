import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, type TestPostgresDatabase } from '../testing/test-database.ts';
import { findInfrastructure } from '../testing/test-infrastructure.ts';
import { createDatabase, directQueryOf, type Database } from './create-database.ts';
import { createNote, exampleMigrations, type ExampleDb, type ExampleTables } from './example-notes.ts';
import { newId } from './ids.ts';
import { migrateToLatest } from './migrate.ts';
import { preparedQuery } from './prepared-query.ts';

const findNote = preparedQuery(['id', 'customerId'], (db: ExampleDb, { id, customerId }) =>
  db.selectFrom('notes').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);

/**
 * On PostgreSQL a prepared read goes straight to a pooled connection (not through Kysely's
 * execution): the rows must be exactly what the query builder gives, in a transaction it must
 * still use the transaction's connection, and a failed query must not break the pool.
 */
describe('preparedQuery on PostgreSQL', () => {
  let testDatabase: TestPostgresDatabase | undefined;
  let database: Database;

  beforeAll(async () => {
    const postgres = await findInfrastructure('postgres');
    if (!postgres.available) return;
    testDatabase = await createTestPostgresDatabase({ adminUrl: postgres.url });
    database = await createDatabase({ ...testDatabase.options, poolSize: 2 });
    await migrateToLatest(database, { schema: 'prepared_example', migrations: exampleMigrations });
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('answers what the query builder answers, through the pool, and inside a transaction on its connection', async (context) => {
    if (!testDatabase) return context.skip();
    const db = database.forSchema<ExampleTables>('prepared_example');
    expect(directQueryOf(db)).toBeTypeOf('function');
    const customerId = newId();
    const note = await createNote(db, { customer_id: customerId, title: 'first' });
    const built = await db.selectFrom('notes').selectAll().where('id', '=', note.id).execute();
    expect(await findNote(db, { id: note.id, customerId })).toEqual(built);
    expect(await findNote(db, { id: note.id, customerId: newId() })).toEqual([]);

    // In a transaction: it sees the transaction's own uncommitted row (its connection, not the pool's).
    await db
      .transaction()
      .execute(async (trx) => {
        expect(directQueryOf(trx)).toBeUndefined();
        const inside = await createNote(trx, { customer_id: customerId, title: 'uncommitted' });
        expect(await findNote(trx, { id: inside.id, customerId })).toEqual([inside]);
        expect(await findNote(db, { id: inside.id, customerId })).toEqual([]);
        throw new Error('roll back');
      })
      .catch((error: unknown) => expect((error as Error).message).toBe('roll back'));
  });

  it('answers the same rows with prepared statements turned off (DATABASE_PREPARED_STATEMENTS=false)', async (context) => {
    if (!testDatabase) return context.skip();
    const plain = await createDatabase({ ...testDatabase.options, poolSize: 1, preparedStatements: false });
    try {
      const db = database.forSchema<ExampleTables>('prepared_example');
      const plainDb = plain.forSchema<ExampleTables>('prepared_example');
      const customerId = newId();
      const note = await createNote(db, { customer_id: customerId, title: 'plain' });
      expect(await findNote(plainDb, { id: note.id, customerId })).toEqual(await findNote(db, { id: note.id, customerId }));
      expect(await findNote(plainDb, { id: note.id, customerId })).toEqual([note]);
      const statements = await sql<{ count: number }>`select count(*)::int as count from pg_prepared_statements`.execute(plainDb);
      expect(statements.rows).toEqual([{ count: 0 }]);
    } finally {
      await plain.close();
    }
  });

  it('keeps the pool usable after queries fail (more failures than connections)', async (context) => {
    if (!testDatabase) return context.skip();
    const db = database.forSchema<ExampleTables>('prepared_example');
    for (let attempt = 0; attempt < 4; attempt++) {
      await expect(findNote(db, { id: 'not-a-uuid', customerId: newId() })).rejects.toThrow(/uuid/);
    }
    const customerId = newId();
    const note = await createNote(db, { customer_id: customerId, title: 'after failures' });
    expect(await findNote(db, { id: note.id, customerId })).toEqual([note]);
  });
});
