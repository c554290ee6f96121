/**
 * The server side of the ai-manager benchmark, run as its own process by ais.ts so the load
 * generator does not share its event loop: ai-manager on a fresh PostgreSQL database (and
 * the in-process bus, or RabbitMQ when RABBITMQ_URL is set), a customer and one AI. Prints
 * one JSON line `{url, key, aiId, databaseUrl}` when ready; drops the database on SIGTERM.
 */
import { commonEnvironmentSchema, createLogger, startPlatform } from '../../packages/shared/src/index.ts';
import { createTestPostgresDatabase } from '../../packages/shared/src/testing/index.ts';
import { createAiManager } from '../../services/ai-manager/src/index.ts';

const adminToken = 'bench-admin-token-0123456789';
const database = await createTestPostgresDatabase();
const environment = commonEnvironmentSchema.parse({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: database.url,
  RABBITMQ_URL: process.env.RABBITMQ_URL,
  INSTANCE_ID: `bench-${process.pid}`,
});
const logger = createLogger({ name: 'bench', level: (process.env.LOG_LEVEL as 'warn' | undefined) ?? 'warn' });
const platform = await startPlatform({
  services: [
    (context) =>
      createAiManager(context, {
        adminToken,
        engineKeyEncryptionKey: '0'.repeat(64),
        rateLimit: { perSecond: 0, burst: 1 },
      }),
  ],
  environment,
  logger,
  handleSignals: false,
}).catch(async (error: unknown) => {
  await database.drop();
  throw error;
});

const customer = (await (
  await fetch(`${platform.url}/v1.0/customers`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench' }),
  })
).json()) as { accesskey: { key: string } };
const key = customer.accesskey.key;
const ai = (await (
  await fetch(`${platform.url}/v1.0/ais`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ engine_model: 'openai.gpt-4o-mini', name: 'bench', engine_key: 'sk-bench' }),
  })
).json()) as { id: string };

process.stdout.write(`${JSON.stringify({ url: platform.url, key, aiId: ai.id, databaseUrl: database.url })}\n`);

process.once('SIGTERM', () => {
  void (async () => {
    await platform.stop();
    await database.drop();
    process.exit(0);
  })();
});
