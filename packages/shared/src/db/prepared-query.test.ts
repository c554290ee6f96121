import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '../testing/test-database.ts';
import { createDatabase, type Database } from './create-database.ts';
import { createNote, exampleMigrations, type ExampleDb, type ExampleTables } from './example-notes.ts';
import { newId } from './ids.ts';
import { migrateToLatest } from './migrate.ts';
import { preparedQuery } from './prepared-query.ts';

const findNote = preparedQuery(['id', 'customerId'], (db: ExampleDb, { id, customerId }) =>
  db.selectFrom('notes').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);

describe('preparedQuery', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    await migrateToLatest(database, { schema: 'prepared_example', migrations: exampleMigrations });
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it('binds new values on every call, in the schema of the Kysely it runs on, also in a transaction', async () => {
    const db = database.forSchema<ExampleTables>('prepared_example');
    const customerId = newId();
    const first = await createNote(db, { customer_id: customerId, title: 'first' });
    const second = await createNote(db, { customer_id: customerId, title: 'second' });
    expect(await findNote(db, { id: first.id, customerId })).toEqual([first]);
    expect(await findNote(db, { id: second.id, customerId })).toEqual([second]);
    expect(await findNote(db, { id: second.id, customerId: newId() })).toEqual([]);
    const inTransaction = await db.transaction().execute((trx) => findNote(trx, { id: first.id, customerId }));
    expect(inTransaction).toEqual([first]);
    await expect(findNote(database.forSchema<ExampleTables>('other_schema'), { id: first.id, customerId })).rejects.toThrow();
  });

  it('refuses a placeholder that is not a bound value of the query', async () => {
    const broken = preparedQuery(['id', 'unused'], (db: ExampleDb, { id }) => db.selectFrom('notes').selectAll().where('id', '=', id));
    await expect(broken(database.forSchema<ExampleTables>('prepared_example'), { id: newId(), unused: 'x' })).rejects.toThrow(/unused/);
  });
});
