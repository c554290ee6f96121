/**
 * The ceiling the REST benchmark compares ai-manager with: a bare Fastify route
 * `GET /ais/:id` that does one PostgreSQL lookup (`select * from ai_manager.ais where id = $1`,
 * a pg pool of 10 like ai-manager's) and answers the row as JSON, without authentication,
 * logging, hooks or schemas. Run by ais.ts in its own process, on the database bench-server.ts
 * created: `tsx fastify-pg-server.ts <databaseUrl>`; prints one JSON line `{url}` when ready.
 * Fastify and pg are the versions the platform runs (loaded from packages/shared).
 *
 * With `--described` the lookup runs the way ai-manager runs its hot reads on PostgreSQL
 * (packages/shared's describedQuery: a named prepared statement described once per
 * connection), so the two differ by the platform's request handling alone.
 */
import { createRequire } from 'node:module';
import { describedQuery } from '../../packages/shared/src/db/described-query.ts';
import { postgresTypes } from '../../packages/shared/src/db/type-parsers.ts';

interface BareApp {
  get(path: string, handler: (request: { params: { id: string } }) => Promise<unknown>): void;
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}
interface PgPool {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<Parameters<typeof describedQuery>[0] & { release(): void }>;
  end(): Promise<void>;
}

const requireFromShared = createRequire(new URL('../../packages/shared/package.json', import.meta.url));
const fastify = requireFromShared('fastify') as (options: { logger: boolean }) => BareApp;
const { Pool } = requireFromShared('pg') as { Pool: new (options: { connectionString: string; max: number }) => PgPool };

const databaseUrl = process.argv[2];
if (!databaseUrl) throw new Error('usage: fastify-pg-server.ts <databaseUrl> [--described]');
const described = process.argv.includes('--described');
const pool = new Pool({ connectionString: databaseUrl, max: 10 });
const app = fastify({ logger: false });
const text = 'select * from ai_manager.ais where id = $1';
const types = postgresTypes as Parameters<typeof describedQuery>[3];
app.get('/ais/:id', async (request) => {
  if (!described) return (await pool.query(text, [request.params.id])).rows[0] ?? {};
  const client = await pool.connect();
  try {
    return (await describedQuery(client, text, [request.params.id], types))[0] ?? {};
  } finally {
    client.release();
  }
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  })();
});
