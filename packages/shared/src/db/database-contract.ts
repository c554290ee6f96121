import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../testing/test-database.ts';
import { createDatabase, type Database } from './create-database.ts';
import { isUniqueViolation, postgresErrorCode } from './database-errors.ts';
import { createNote, deleteNote, exampleMigrations, getNote, listNotes, updateNote, type ExampleTables } from './example-notes.ts';
import { newId } from './ids.ts';
import { appliedMigrations, migrateTo, migrateToLatest, MigrationError, type Migrations } from './migrate.ts';
import { describePaginationContract } from './pagination-contract.ts';
import { timestampPattern, toApiTimestamp } from './timestamps.ts';

/** What a contract suite works with; filled in by its beforeAll. */
export interface ContractContext {
  database: Database;
  schema: string;
  db: Kysely<ExampleTables>;
}

/**
 * The behaviour both engines must share, registered as vitest tests. The PostgreSQL and
 * PGlite test files call this with their way of making a throwaway database, so a
 * repository that passes on PGlite (fast, no server) behaves the same on PostgreSQL.
 */
export function describeDatabaseContract(
  engine: string,
  createTestDatabase: () => Promise<TestDatabase>,
  options: { skip?: boolean } = {},
): void {
  describe.skipIf(options.skip ?? false)(`database contract on ${engine}`, () => {
    const context = {} as ContractContext;
    let testDatabase: TestDatabase | undefined;

    beforeAll(async () => {
      testDatabase = await createTestDatabase();
      context.database = await createDatabase(testDatabase.options);
      context.schema = 'contract_example';
      await migrateToLatest(context.database, { schema: context.schema, migrations: exampleMigrations });
      context.db = context.database.forSchema<ExampleTables>(context.schema);
    }, 120_000);

    afterAll(async () => {
      await context.database?.close();
      await testDatabase?.drop();
    }, 60_000);

    describeMigrationContract(context);
    describeRepositoryContract(context);
    describePaginationContract(context);
    describeTimestampContract(context);
  });
}

async function tablesIn(db: Kysely<ExampleTables>, schema: string): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = ${schema} order by table_name`.execute(db);
  return result.rows.map((row) => row.table_name);
}

function describeMigrationContract(context: ContractContext): void {
  describe('migrations', () => {
    it('creates the schema and keeps both the tables and the migration records in it', async () => {
      expect(await tablesIn(context.db, context.schema)).toEqual(['kysely_migration', 'kysely_migration_lock', 'notes']);
      expect(await tablesIn(context.db, 'public')).toEqual([]);
      expect(await appliedMigrations(context.database, { schema: context.schema, migrations: exampleMigrations })).toEqual([
        '0001_create_notes',
        '0002_add_note_tags',
      ]);
    });

    it('does nothing when migrated again', async () => {
      const options = { schema: context.schema, migrations: exampleMigrations };
      expect(await migrateToLatest(context.database, options)).toEqual([]);
    });

    it('migrates down step by step and up again', async () => {
      const options = { schema: 'contract_down_up', migrations: exampleMigrations };
      expect(await migrateToLatest(context.database, options)).toEqual(['0001_create_notes', '0002_add_note_tags']);
      expect(await migrateTo(context.database, options, '0001_create_notes')).toEqual(['0002_add_note_tags']);
      const columns = await sql<{ column_name: string }>`
        select column_name from information_schema.columns
        where table_schema = ${options.schema} and table_name = 'notes'`.execute(context.db);
      expect(columns.rows.map((row) => row.column_name)).not.toContain('tags');
      expect(await migrateTo(context.database, options, null)).toEqual(['0001_create_notes']);
      expect(await tablesIn(context.db, options.schema)).not.toContain('notes');
      expect(await migrateToLatest(context.database, options)).toHaveLength(2);
    });

    it('names the failing migration and applies none of the run (one transaction)', async () => {
      const migrations: Migrations = {
        ...exampleMigrations,
        '0003_broken': {
          async up(db) {
            await sql`select * from table_that_does_not_exist`.execute(db);
          },
        },
      };
      const options = { schema: 'contract_failing', migrations };
      const failure = await migrateToLatest(context.database, options).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(MigrationError);
      expect((failure as MigrationError).migrationName).toBe('0003_broken');
      expect((failure as MigrationError).message).toMatch(/migration 0003_broken of schema contract_failing failed/);
      expect(postgresErrorCode(failure)).toBe('42P01');
      expect(await appliedMigrations(context.database, options)).toEqual([]);
    });
  });
}

function describeRepositoryContract(context: ContractContext): void {
  describe('repositories', () => {
    it('creates, reads, updates and soft-deletes a row', async () => {
      const customer = newId();
      const created = await createNote(context.db, { customer_id: customer, title: 'first' });
      expect(await getNote(context.db, created.id)).toEqual(created);

      const updated = await updateNote(context.db, created.id, { title: 'renamed' });
      expect(updated).toMatchObject({ id: created.id, title: 'renamed', tm_create: created.tm_create });
      expect(updated!.tm_update > created.tm_update).toBe(true);

      const deleted = await deleteNote(context.db, created.id);
      expect(deleted?.tm_delete).toMatch(timestampPattern);
      expect(await getNote(context.db, created.id)).toBeUndefined();
      expect(await updateNote(context.db, created.id, { title: 'ghost' })).toBeUndefined();
      const stored = await context.db.selectFrom('notes').select('tm_delete').where('id', '=', created.id).executeTakeFirst();
      expect(stored?.tm_delete).toBe(deleted?.tm_delete);
    });

    it('leaves soft-deleted rows out of lists', async () => {
      const customer = newId();
      const kept = await createNote(context.db, { customer_id: customer, title: 'kept' });
      const gone = await createNote(context.db, { customer_id: customer, title: 'gone' });
      await deleteNote(context.db, gone.id);
      const page = await listNotes(context.db, customer, { page_size: 10, page_token: '' });
      expect(page.result.map((note) => note.id)).toEqual([kept.id]);
    });

    it('round-trips JSON objects, arrays and awkward strings through jsonb', async () => {
      const detail = { nested: { list: [1, 'two', null, { three: true }] }, quote: `it's "quoted" \\ ✓`, empty: {} };
      const tags = ['a', "b'c", '"d"'];
      const note = await createNote(context.db, { customer_id: newId(), title: 'json', detail, tags });
      expect(note.detail).toEqual(detail);
      expect(note.tags).toEqual(tags);
      const updated = await updateNote(context.db, note.id, { detail: { replaced: [[], [{}]] }, tags: [] });
      expect(updated).toMatchObject({ detail: { replaced: [[], [{}]] }, tags: [] });
      const kinds = await sql<{ detail: string; tags: string }>`
        select jsonb_typeof(detail) as detail, jsonb_typeof(tags) as tags
        from ${sql.id(context.schema, 'notes')} where id = ${note.id}`.execute(context.db);
      expect(kinds.rows).toEqual([{ detail: 'object', tags: 'array' }]);
    });

    it('rolls a transaction back when its callback throws, and commits otherwise', async () => {
      const customer = newId();
      const failed = context.db.transaction().execute(async (transaction) => {
        await createNote(transaction, { customer_id: customer, title: 'never' });
        throw new Error('boom');
      });
      await expect(failed).rejects.toThrow('boom');
      await context.db.transaction().execute(async (transaction) => {
        await createNote(transaction, { customer_id: customer, title: 'one' });
        await createNote(transaction, { customer_id: customer, title: 'two' });
      });
      const page = await listNotes(context.db, customer, { page_size: 10, page_token: '' });
      expect(page.result.map((note) => note.title).sort()).toEqual(['one', 'two']);
    });

    it('reports a unique-constraint violation recognisably', async () => {
      const customer = newId();
      const first = await createNote(context.db, { customer_id: customer, title: 'same' });
      const error = await createNote(context.db, { customer_id: customer, title: 'same' }).catch((caught: unknown) => caught);
      expect(isUniqueViolation(error)).toBe(true);
      expect(isUniqueViolation(error, 'notes_customer_title_key')).toBe(true);
      expect(isUniqueViolation(error, 'another_constraint')).toBe(false);
      const badUuid = await getNote(context.db, 'not-a-uuid').catch((caught: unknown) => caught);
      expect(isUniqueViolation(badUuid)).toBe(false);
      expect(postgresErrorCode(badUuid)).toBe('22P02');
      await deleteNote(context.db, first.id);
      await expect(createNote(context.db, { customer_id: customer, title: 'same' })).resolves.toBeDefined();
    });

    it('keeps two schemas in one database apart', async () => {
      const other = { schema: 'contract_other', migrations: exampleMigrations };
      await migrateToLatest(context.database, other);
      const otherDb = context.database.forSchema<ExampleTables>(other.schema);
      const customer = newId();
      await createNote(context.db, { customer_id: customer, title: 'mine' });
      expect((await listNotes(otherDb, customer, { page_size: 10, page_token: '' })).result).toEqual([]);

      await context.db.schema.createTable('only_here').addColumn('id', 'integer').execute();
      const missing = await sql`select * from ${sql.id(other.schema, 'only_here')}`.execute(otherDb).catch((error: unknown) => error);
      expect(postgresErrorCode(missing)).toBe('42P01');
      await expect(otherDb.selectFrom('only_here' as never).selectAll().execute()).rejects.toThrow(/does not exist/);
    });

    it('does not schema-qualify raw SQL: unqualified table names fail on every engine', async () => {
      const unqualified = await sql`select count(*) from notes`.execute(context.db).catch((error: unknown) => error);
      expect(postgresErrorCode(unqualified)).toBe('42P01');
      const qualified = await sql<{ count: number }>`select count(*) as count from ${sql.id(context.schema, 'notes')}`.execute(
        context.db,
      );
      expect(typeof qualified.rows[0]?.count).toBe('number');
    });
  });
}

function describeTimestampContract(context: ContractContext): void {
  describe('timestamps', () => {
    it('returns timestamps as UTC strings with microseconds, exactly as stored', async () => {
      const customer = newId();
      const precise = await createNote(context.db, { customer_id: customer, title: 'a', tm_create: '2026-01-02T03:04:05.123456Z' });
      const whole = await createNote(context.db, { customer_id: customer, title: 'b', tm_create: '2026-01-02T03:04:05Z' });
      const offset = await createNote(context.db, { customer_id: customer, title: 'c', tm_create: '2026-01-02T05:04:05.5+02:00' });
      expect([precise.tm_create, whole.tm_create, offset.tm_create]).toEqual([
        '2026-01-02T03:04:05.123456Z',
        '2026-01-02T03:04:05.000000Z',
        '2026-01-02T03:04:05.500000Z',
      ]);
      expect((await getNote(context.db, precise.id))?.tm_create).toBe('2026-01-02T03:04:05.123456Z');
    });

    it('formats database-generated timestamps, arrays of them and JSON-embedded ones the same way', async () => {
      const result = await sql<{ now: string; list: string[]; embedded: { at: string }; zone: string }>`
        select clock_timestamp() as now,
               array[timestamptz '2026-01-02 03:04:05.1+00', timestamptz '2026-01-02 03:04:05+00'] as list,
               json_build_object('at', timestamptz '2026-01-02 03:04:05.25+00') as embedded,
               current_setting('TimeZone') as zone`.execute(context.db);
      const row = result.rows[0]!;
      expect(row.now).toMatch(timestampPattern);
      expect(row.list).toEqual(['2026-01-02T03:04:05.100000Z', '2026-01-02T03:04:05.000000Z']);
      // JSON built in SQL bypasses the driver's parsers; toApiTimestamp normalises it.
      expect(toApiTimestamp(row.embedded.at)).toBe('2026-01-02T03:04:05.250000Z');
      expect(row.zone).toBe('UTC');
    });
  });
}
