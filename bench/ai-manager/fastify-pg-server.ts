/**
 * The ceiling the REST benchmark compares ai-manager with: a bare Fastify route
 * `GET /ais/:id` that does one PostgreSQL lookup (`select * from ai_manager.ais where id = $1`,
 * a pg pool of 10 like ai-manager's) and answers the row as JSON, without authentication,
 * logging, hooks or schemas. Run by ais.ts in its own process, on the database bench-server.ts
 * created: `tsx fastify-pg-server.ts <databaseUrl>`; prints one JSON line `{url}` when ready.
 * Fastify and pg are the versions the platform runs (loaded from packages/shared).
 */
import { createRequire } from 'node:module';

interface BareApp {
  get(path: string, handler: (request: { params: { id: string } }) => Promise<unknown>): void;
  listen(options: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
}
interface PgPool {
  query(text: string, values: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}

const requireFromShared = createRequire(new URL('../../packages/shared/package.json', import.meta.url));
const fastify = requireFromShared('fastify') as (options: { logger: boolean }) => BareApp;
const { Pool } = requireFromShared('pg') as { Pool: new (options: { connectionString: string; max: number }) => PgPool };

const databaseUrl = process.argv[2];
if (!databaseUrl) throw new Error('usage: fastify-pg-server.ts <databaseUrl>');
const pool = new Pool({ connectionString: databaseUrl, max: 10 });
const app = fastify({ logger: false });
app.get('/ais/:id', async (request) => {
  const { rows } = await pool.query('select * from ai_manager.ais where id = $1', [request.params.id]);
  return rows[0] ?? {};
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
