import path from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect, sql, type Dialect, type PGliteDialectConfig } from 'kysely';
import pg from 'pg';
import type { Logger } from '../logging/index.ts';
import { describedQuery } from './described-query.ts';
import { leasePglite } from './shared-pglite.ts';
import { postgresTypes } from './type-parsers.ts';

/** Which engine is behind a Database. */
export type DatabaseKind = 'postgres' | 'pglite';

/** How to reach the database; usually built from a service's config. */
export interface CreateDatabaseOptions {
  /** `DATABASE_URL`. When set the database is PostgreSQL; when empty or absent, PGlite. */
  url?: string;
  /** Folder for local data. PGlite keeps its files in `<dataDir>/pglite`. Required without `url`. */
  dataDir?: string;
  /** PostgreSQL connections in this handle's pool (default 10). */
  poolSize?: number;
  /** PostgreSQL cancels statements running longer than this (default: the server's setting). Ignored by PGlite. */
  statementTimeoutMs?: number;
  /** Shown in pg_stat_activity, e.g. the service name. */
  applicationName?: string;
  /** Receives failures of idle pooled connections, which would otherwise go unnoticed. */
  logger?: Logger;
  /**
   * PostgreSQL: run hot reads as named prepared statements described once per connection
   * (default true; see described-query.ts). Turn off behind a connection pooler that does not
   * keep prepared statements between transactions (PgBouncer in transaction mode before 1.21).
   */
  preparedStatements?: boolean;
}

/**
 * A handle on the platform database. Each service works in its own PostgreSQL schema and
 * gets a Kysely for it from `forSchema`; `close` releases what this handle holds.
 *
 * - PostgreSQL: each handle owns a pg Pool, so services in separate processes (or separate
 *   handles in one process) have separate pools.
 * - PGlite: handles on the same data folder in one process share one PGlite instance
 *   (single connection; PGlite queues queries and holds other work back during a
 *   transaction). The instance closes when the last handle closes.
 *
 * Schema scoping uses Kysely's `withSchema`, never `search_path`: a per-connection
 * search_path cannot work on the shared single PGlite connection, and using it only on
 * PostgreSQL would let unqualified raw SQL pass there and fail on PGlite. Both engines keep
 * the default search_path, so such SQL fails the same way on both.
 *
 * What a repository author must know (also summarised in this folder's index.ts):
 * - Builder queries (select, insert, update, delete, joins, subqueries, CTEs, upserts) and
 *   schema-builder DDL (tables, foreign keys, indexes, types) are qualified automatically.
 * - Raw `sql` is not: write `sql.id(schema, 'ais')` or `sql.table(`${schema}.ais`)` for
 *   tables, and qualify type names (prefer text columns with CHECK constraints over enums).
 * - Inside a transaction callback, query only through the transaction. On PGlite a query
 *   through any other Kysely waits for the open transaction to end, which is waiting for
 *   that query: a deadlock. (On PostgreSQL it would silently run outside the transaction.)
 */
export interface Database {
  readonly kind: DatabaseKind;
  /**
   * The Kysely for one schema (`ai_manager`, `flow_manager`, `pipeline_manager`, ...).
   * Calling `destroy()` on it releases nothing shared; close the Database instead.
   */
  forSchema<Tables>(schema: string): Kysely<Tables>;
  /** Runs a trivial query; rejects when the database cannot answer (readiness checks). */
  ping(): Promise<void>;
  /** Releases the pool or the PGlite lease. Idempotent; later queries fail. */
  close(): Promise<void>;
}

const schemaNamePattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens the database described by `options`: PostgreSQL when `url` is set, PGlite otherwise. */
export async function createDatabase(options: CreateDatabaseOptions): Promise<Database> {
  if (options.url) return createPostgresDatabase(options.url, options);
  if (!options.dataDir) {
    throw new Error('createDatabase: set DATABASE_URL for PostgreSQL, or a data folder for PGlite');
  }
  return createPgliteDatabase(path.join(options.dataDir, 'pglite'));
}

function createPostgresDatabase(url: string, options: CreateDatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // Fail a request that cannot get a connection instead of queueing it forever.
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName,
    // UTC like PGlite, so date_trunc and friends give the same answers on both engines.
    options: '-c TimeZone=UTC',
    types: postgresTypes,
  });
  pool.on('error', (error) => {
    options.logger?.warn({ err: error }, 'an idle PostgreSQL connection failed');
  });
  // A connection that fails while it is checked out (between the queries of a transaction, say)
  // emits 'error' on its client, where the pool's handler does not listen; unheard, that error
  // ends the process. The query in flight fails on its own and the pool discards the client.
  const watched = new WeakSet<pg.PoolClient>();
  const connect = async () => {
    const client = await pool.connect();
    if (!watched.has(client)) {
      watched.add(client);
      client.on('error', (error) => options.logger?.warn({ err: error }, 'a PostgreSQL connection in use failed'));
    }
    return client;
  };
  // Each schema's Kysely borrows the pool; only this handle may end it.
  const borrowedPool = {
    connect,
    end: async () => {},
    options: pool.options,
    Client: pg.Client,
  };
  // Straight to a pooled connection, for preparedQuery's hot reads (no Kysely in between), as a
  // statement prepared and described once per connection.
  const direct: DirectQuery = async (text, parameters) => {
    const client = await connect();
    try {
      const rows =
        options.preparedStatements === false
          ? (await client.query(text, parameters as unknown[])).rows
          : await describedQuery(client, text, parameters, postgresTypes as Parameters<typeof describedQuery>[3]);
      client.release();
      return rows;
    } catch (error) {
      // A connection that failed is not given to the next query.
      client.release(error instanceof Error ? error : true);
      throw error;
    }
  };
  return buildDatabase('postgres', () => new PostgresDialect({ pool: borrowedPool }), () => pool.end(), direct);
}

type PgliteForKysely = Exclude<PGliteDialectConfig['pglite'], (...args: never[]) => unknown>;

async function createPgliteDatabase(directory: string): Promise<Database> {
  const lease = await leasePglite(directory);
  let released = false;
  const { pglite } = lease;
  const assertOpen = () => {
    if (released) throw new Error('This database handle is closed');
  };
  // Kysely closes its PGlite on destroy(); this view keeps the shared instance out of its reach.
  const borrowedPglite: PgliteForKysely = {
    get closed() {
      return released || pglite.closed;
    },
    get ready() {
      return pglite.ready;
    },
    get waitReady() {
      return pglite.waitReady;
    },
    query: (query, parameters, queryOptions) => {
      assertOpen();
      return pglite.query(query, parameters, queryOptions);
    },
    transaction: (callback) => {
      assertOpen();
      return pglite.transaction(callback);
    },
    close: async () => {},
  };
  return buildDatabase(
    'pglite',
    () => new PGliteDialect({ pglite: borrowedPglite }),
    async () => {
      released = true;
      await lease.release();
    },
  );
}

/** Runs compiled SQL with its parameters on a pooled connection and answers the rows. */
type DirectQuery = (text: string, parameters: readonly unknown[]) => Promise<unknown[]>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema's Kysely
const directQueries = new WeakMap<Kysely<any>, DirectQuery>();

/**
 * The direct way to run `db`'s compiled queries, when `db` is a schema handle of a PostgreSQL
 * database (not PGlite, not a transaction: those go through Kysely).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any schema's Kysely
export function directQueryOf(db: Kysely<any>): DirectQuery | undefined {
  return directQueries.get(db);
}

function buildDatabase(kind: DatabaseKind, createDialect: () => Dialect, release: () => Promise<void>, direct?: DirectQuery): Database {
  let closing: Promise<void> | undefined;
  let pinger: Kysely<unknown> | undefined;
  return {
    kind,
    async ping() {
      if (closing) throw new Error('This database handle is closed');
      pinger ??= new Kysely<unknown>({ dialect: createDialect() });
      await sql`select 1`.execute(pinger);
    },
    forSchema<Tables>(schema: string): Kysely<Tables> {
      if (closing) throw new Error('This database handle is closed');
      if (!schemaNamePattern.test(schema)) {
        throw new Error(`Invalid schema name ${JSON.stringify(schema)}: use lower case letters, digits and _`);
      }
      // A new Kysely per call is cheap (no I/O) and means one destroyed by its user never
      // comes back from a later call.
      const db = new Kysely<Tables>({ dialect: createDialect() }).withSchema(schema);
      if (direct) directQueries.set(db, direct);
      return db;
    },
    close() {
      closing ??= release();
      return closing;
    },
  };
}
