import { sql, type Kysely } from 'kysely';
import { Migrator, NO_MIGRATIONS, type Migration, type MigrationResultSet } from 'kysely/migration';
import type { Logger } from '../logging/index.ts';
import type { Database } from './create-database.ts';

/**
 * A service's migrations by name. Names sort in the order they run (`0001_create_ais`,
 * `0002_add_ai_tools`); a new migration must sort after every applied one. Each runs
 * in a transaction with a Kysely scoped to the service's schema, so builder DDL lands in
 * that schema; raw `sql` inside a migration must qualify names itself.
 */
export type Migrations = Record<string, Migration>;

/** Which migrations to run where. */
export interface MigrateOptions {
  /** The service's schema; holds its tables and its migration bookkeeping (`kysely_migration`). */
  schema: string;
  migrations: Migrations;
  logger?: Logger;
}

/** A migration run failed; `migrationName` says which migration, when one had started. */
export class MigrationError extends Error {
  readonly schema: string;
  readonly migrationName: string | undefined;

  constructor(schema: string, migrationName: string | undefined, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const subject = migrationName ? `migration ${migrationName} of schema ${schema}` : `migrating schema ${schema}`;
    super(`${subject} failed: ${reason}`, { cause });
    this.name = 'MigrationError';
    this.schema = schema;
    this.migrationName = migrationName;
  }
}

/**
 * Creates the schema if missing and applies every pending migration; a service calls this
 * at start. Returns the names applied (empty when up to date). All pending migrations run
 * in one transaction, so when one fails (MigrationError names it) none of the run remains.
 *
 * Concurrency: on PostgreSQL, Kysely's migrator takes one advisory lock for the whole
 * database, so services (and replicas of one service) migrating at the same moment run one
 * after another and each sees what the previous one applied. On PGlite each migration run
 * is a PGlite transaction, which holds every other query of the process back.
 */
export async function migrateToLatest(database: Database, options: MigrateOptions): Promise<string[]> {
  const db = database.forSchema<unknown>(options.schema);
  await ensureSchema(db, options.schema);
  const outcome = await createMigrator(db, options).migrateToLatest();
  return handleOutcome(outcome, options);
}

/**
 * Migrates up or down to `target` (a migration name), or undoes every migration when
 * target is null. Meant for tests and manual rollbacks; services only migrate up.
 */
export async function migrateTo(database: Database, options: MigrateOptions, target: string | null): Promise<string[]> {
  const db = database.forSchema<unknown>(options.schema);
  await ensureSchema(db, options.schema);
  const outcome = await createMigrator(db, options).migrateTo(target ?? NO_MIGRATIONS);
  return handleOutcome(outcome, options);
}

/** The names of the migrations applied in `schema`, oldest first. */
export async function appliedMigrations(database: Database, options: MigrateOptions): Promise<string[]> {
  const db = database.forSchema<unknown>(options.schema);
  const migrations = await createMigrator(db, options).getMigrations();
  return migrations.filter((migration) => migration.executedAt !== undefined).map((migration) => migration.name);
}

function createMigrator(db: Kysely<unknown>, options: MigrateOptions): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => options.migrations },
    migrationTableSchema: options.schema,
  });
}

async function ensureSchema(db: Kysely<unknown>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two processes creating the same schema at once can both pass "if not exists" and one
    // then fails on the catalog's unique index; the schema exists, which is all we need.
    const found = await sql<{ exists: boolean }>`
      select exists (select 1 from pg_namespace where nspname = ${schema}) as "exists"`.execute(db);
    if (!found.rows[0]?.exists) throw error;
  }
}

function handleOutcome(outcome: MigrationResultSet, options: MigrateOptions): string[] {
  const results = outcome.results ?? [];
  const failed = results.find((result) => result.status === 'Error');
  if (outcome.error !== undefined) {
    throw new MigrationError(options.schema, failed?.migrationName, outcome.error);
  }
  const done = results.filter((result) => result.status === 'Success');
  for (const result of done) {
    options.logger?.info(
      { schema: options.schema, migration: result.migrationName, direction: result.direction },
      'migration applied',
    );
  }
  return done.map((result) => result.migrationName);
}
