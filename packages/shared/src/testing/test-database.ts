import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { CreateDatabaseOptions, DatabaseKind } from '../db/create-database.ts';
import { isPgliteOpen } from '../db/shared-pglite.ts';
import { copyPgliteTemplate } from './pglite-template.ts';

/** A throwaway database for one test file: open it with `createDatabase(test.options)`. */
export interface TestDatabase {
  readonly kind: DatabaseKind;
  /** What to give createDatabase. */
  readonly options: CreateDatabaseOptions;
  /** Removes the database. Close every Database opened on it first. Idempotent. */
  drop(): Promise<void>;
}

/** A fresh database on the machine's PostgreSQL. */
export interface TestPostgresDatabase extends TestDatabase {
  readonly kind: 'postgres';
  readonly url: string;
  readonly name: string;
}

/** A fresh PGlite data folder. */
export interface TestPgliteDatabase extends TestDatabase {
  readonly kind: 'pglite';
  /** The folder to pass as `dataDir`; PGlite lives in `<dataDir>/pglite`. */
  readonly dataDir: string;
}

/** The server used when DATABASE_URL is not set: trust auth as the `postgres` superuser. */
export const defaultAdminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function runAsAdmin(adminUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Creates a uniquely named database (`avp_test_<time>_<random>`) through an admin connection
 * (`adminUrl`, else DATABASE_URL_ADMIN, else DATABASE_URL, else the local `postgres`
 * superuser; `findInfrastructure('postgres').url` fits) and returns its URL.
 * `drop()` drops it even if connections are still open. Databases of crashed runs keep
 * their `avp_test_` prefix and can be dropped by hand.
 */
export async function createTestPostgresDatabase(
  options: { adminUrl?: string } = {},
): Promise<TestPostgresDatabase> {
  const adminUrl = options.adminUrl ?? process.env.DATABASE_URL_ADMIN ?? process.env.DATABASE_URL ?? defaultAdminUrl;
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const name = `avp_test_${stamp}_${randomBytes(4).toString('hex')}`;
  await runAsAdmin(adminUrl, `create database ${quoteIdentifier(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    kind: 'postgres',
    name,
    url: url.toString(),
    options: { url: url.toString() },
    drop() {
      // WITH (FORCE) ends connections a test left open instead of failing (PostgreSQL 13+).
      dropped ??= runAsAdmin(adminUrl, `drop database if exists ${quoteIdentifier(name)} with (force)`);
      return dropped;
    },
  };
}

/**
 * Creates a temporary folder holding a fresh PGlite data folder (copied from a cached
 * template, so opening it takes about a second rather than several). `drop()` deletes the
 * folder; it refuses while a Database in this process still has it open.
 */
export async function createTestPgliteDatabase(): Promise<TestPgliteDatabase> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'avp-test-pglite-'));
  const pgliteDirectory = path.join(dataDir, 'pglite');
  try {
    await copyPgliteTemplate(pgliteDirectory);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    kind: 'pglite',
    dataDir,
    options: { dataDir },
    async drop() {
      if (isPgliteOpen(pgliteDirectory)) {
        throw new Error(`Close the databases opened on ${dataDir} before dropping it`);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
