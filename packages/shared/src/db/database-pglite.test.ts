import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '../testing/test-database.ts';
import { createDatabase } from './create-database.ts';
import { describeDatabaseContract } from './database-contract.ts';
import { createNote, exampleMigrations, getNote, type ExampleTables } from './example-notes.ts';
import { newId } from './ids.ts';
import { migrateToLatest } from './migrate.ts';
import { isPgliteOpen } from './shared-pglite.ts';

describeDatabaseContract('PGlite', createTestPgliteDatabase);

describe('PGlite shared by several services in one process', () => {
  let testDatabase: TestPgliteDatabase;
  const pgliteFolder = () => path.join(testDatabase.dataDir, 'pglite');

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
  }, 120_000);

  afterAll(async () => {
    await testDatabase?.drop();
  });

  it('shares one instance between handles and closes it when the last handle closes', async () => {
    const first = await createDatabase(testDatabase.options);
    const second = await createDatabase(testDatabase.options);
    expect(first.kind).toBe('pglite');
    await migrateToLatest(first, { schema: 'shared_example', migrations: exampleMigrations });
    const note = await createNote(first.forSchema<ExampleTables>('shared_example'), { customer_id: newId(), title: 'shared' });

    await first.close();
    await first.close();
    expect(() => first.forSchema('shared_example')).toThrow(/closed/);
    expect(isPgliteOpen(pgliteFolder())).toBe(true);
    expect(await getNote(second.forSchema<ExampleTables>('shared_example'), note.id)).toEqual(note);

    await second.close();
    expect(isPgliteOpen(pgliteFolder())).toBe(false);

    const reopened = await createDatabase(testDatabase.options);
    try {
      expect(await getNote(reopened.forSchema<ExampleTables>('shared_example'), note.id)).toEqual(note);
    } finally {
      await reopened.close();
    }
  }, 60_000);

  it('keeps the shared instance open when a service destroys its Kysely', async () => {
    const database = await createDatabase(testDatabase.options);
    try {
      await database.forSchema('one_service').destroy();
      const result = await sql<{ answer: number }>`select 42 as answer`.execute(database.forSchema('another_service'));
      expect(result.rows).toEqual([{ answer: 42 }]);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('serialises a transaction of one service with queries of another', async () => {
    const database = await createDatabase(testDatabase.options);
    try {
      await migrateToLatest(database, { schema: 'tx_a', migrations: exampleMigrations });
      const a = database.forSchema<ExampleTables>('tx_a');
      const b = database.forSchema<ExampleTables>('tx_b');
      const customer = newId();
      let releaseTransaction!: () => void;
      let markInserted!: () => void;
      const held = new Promise<void>((resolve) => (releaseTransaction = resolve));
      const inserted = new Promise<void>((resolve) => (markInserted = resolve));
      const transaction = a.transaction().execute(async (trx) => {
        await createNote(trx, { customer_id: customer, title: 'inside' });
        markInserted();
        await held;
        throw new Error('roll back');
      });
      await inserted;
      // The other service's query waits for the transaction instead of running inside it.
      const outside = sql<{ count: number }>`select count(*) as count from ${sql.id('tx_a', 'notes')}`.execute(b);
      const early = await Promise.race([outside.then(() => 'answered'), sleep(200).then(() => 'waiting')]);
      expect(early).toBe('waiting');
      releaseTransaction();
      await expect(transaction).rejects.toThrow('roll back');
      expect((await outside).rows).toEqual([{ count: 0 }]);
    } finally {
      await database.close();
    }
  }, 60_000);
});

describe('createDatabase without DATABASE_URL', () => {
  it('rejects a missing data folder', async () => {
    await expect(createDatabase({})).rejects.toThrow(/DATABASE_URL/);
  });

  it('creates the data folder when it does not exist', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'avp-pglite-new-'));
    const dataDir = path.join(root, 'nested', 'data');
    try {
      const database = await createDatabase({ dataDir, url: '' });
      try {
        const result = await sql<{ one: number }>`select 1 as one`.execute(database.forSchema('anything'));
        expect(result.rows).toEqual([{ one: 1 }]);
      } finally {
        await database.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
