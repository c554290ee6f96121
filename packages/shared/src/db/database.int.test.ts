import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestPostgresDatabase, type TestPostgresDatabase } from '../testing/test-database.ts';
import { findInfrastructure } from '../testing/test-infrastructure.ts';
import { createDatabase, type Database } from './create-database.ts';
import { describeDatabaseContract } from './database-contract.ts';
import { postgresErrorCode } from './database-errors.ts';
import { exampleMigrations } from './example-notes.ts';
import { appliedMigrations, migrateToLatest } from './migrate.ts';

// The machine's PostgreSQL, else a container, else these tests skip (CI=true fails instead).
const postgres = await findInfrastructure('postgres');
const adminUrl = postgres.url;
afterAll(() => postgres.stop());

describeDatabaseContract('PostgreSQL', () => createTestPostgresDatabase({ adminUrl }), { skip: !postgres.available });

describe.skipIf(!postgres.available)('PostgreSQL handles', () => {
  let testDatabase: TestPostgresDatabase;
  const opened: Database[] = [];
  const open = async (options: Parameters<typeof createDatabase>[0] = {}) => {
    const database = await createDatabase({ ...testDatabase.options, ...options });
    opened.push(database);
    return database;
  };

  beforeAll(async () => {
    testDatabase = await createTestPostgresDatabase({ adminUrl });
  });

  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    await testDatabase?.drop();
  });

  it('lets three services with their own pools migrate at the same moment, replicas included', async () => {
    const schemas = ['ai_manager', 'flow_manager', 'pipeline_manager', 'pipeline_manager'];
    const databases = await Promise.all(schemas.map(() => open({ poolSize: 2 })));
    const runs = await Promise.all(
      databases.map((database, index) => migrateToLatest(database, { schema: schemas[index]!, migrations: exampleMigrations })),
    );
    // The two pipeline-manager replicas share the work: one applies, the other finds it done.
    expect(runs.slice(0, 2)).toEqual([
      ['0001_create_notes', '0002_add_note_tags'],
      ['0001_create_notes', '0002_add_note_tags'],
    ]);
    expect([...runs[2]!, ...runs[3]!]).toEqual(['0001_create_notes', '0002_add_note_tags']);
    for (const schema of new Set(schemas)) {
      expect(await appliedMigrations(databases[0]!, { schema, migrations: exampleMigrations })).toHaveLength(2);
    }
  });

  it('is PostgreSQL when a URL is given, and cancels statements past the statement timeout', async () => {
    const database = await open({ statementTimeoutMs: 100, applicationName: 'avp-contract-test' });
    expect(database.kind).toBe('postgres');
    const slow = await sql`select pg_sleep(2)`.execute(database.forSchema('anything')).catch((error: unknown) => error);
    expect(postgresErrorCode(slow)).toBe('57014');
    const name = await sql<{ name: string }>`select current_setting('application_name') as name`.execute(
      database.forSchema('anything'),
    );
    expect(name.rows).toEqual([{ name: 'avp-contract-test' }]);
  });

  it('closes idempotently and refuses new work afterwards', async () => {
    const database = await open();
    const db = database.forSchema('anything');
    await sql`select 1`.execute(db);
    await Promise.all([database.close(), database.close()]);
    await database.close();
    expect(() => database.forSchema('anything')).toThrow(/closed/);
    await expect(sql`select 1`.execute(db)).rejects.toThrow();
  });

  it('survives a connection that dies while a transaction holds it, and serves again', async () => {
    const database = await open({ poolSize: 2, applicationName: 'dies-in-transaction' });
    const db = database.forSchema<Record<string, never>>('public');
    const admin = new pg.Client({ connectionString: testDatabase.url });
    await admin.connect();
    try {
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          await sql`select 1`.execute(trx);
          // The server ends this connection while the transaction holds it between two queries.
          await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'dies-in-transaction' and pid <> pg_backend_pid()");
          await new Promise((resolve) => setTimeout(resolve, 200));
          await sql`select 2`.execute(trx);
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(failed).toBeInstanceOf(Error);
      const again = await sql<{ one: number }>`select 1 as one`.execute(db);
      expect(again.rows).toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
    }
  });

  it('rejects schema names that would need quoting', async () => {
    const database = await open();
    expect(() => database.forSchema('Robert"; drop')).toThrow(/Invalid schema name/);
  });
});

describe.skipIf(!postgres.available)('createTestPostgresDatabase', () => {
  it('drops its database even while connections are open', async () => {
    const testDatabase = await createTestPostgresDatabase({ adminUrl });
    const client = new pg.Client({ connectionString: testDatabase.url });
    await client.connect();
    client.on('error', () => {});
    await testDatabase.drop();
    await testDatabase.drop();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      const found = await admin.query('select 1 from pg_database where datname = $1', [testDatabase.name]);
      expect(found.rowCount).toBe(0);
    } finally {
      await admin.end();
      await client.end().catch(() => {});
    }
  });
});
