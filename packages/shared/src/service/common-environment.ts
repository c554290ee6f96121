import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { z } from 'zod';
import { env } from '../config/load-config.ts';

/** Names proxy-addr (Fastify's `trustProxy`) knows for whole ranges. */
const trustProxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** One entry of `TRUST_PROXY`: an address, an address/prefix range, or a range name. */
function isProxyEntry(entry: string): boolean {
  if (trustProxyRangeNames.has(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/**
 * `TRUST_PROXY`: which peers may say who the client is (X-Forwarded-For). A comma-separated list
 * of proxy addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`. Unset or
 * empty: nobody, the connection's address is the client. `true` is refused (any client could then
 * pick the address its limits are counted under), and so is a hop count (Fastify does not trust
 * one: it cannot tell a proxy from a client that sends the header itself).
 */
export const trustProxySchema = z
  .string()
  .optional()
  .transform((value, context): string[] | undefined => {
    const text = value?.trim() ?? '';
    if (text === '') return undefined;
    const entries = text.split(',').map((entry) => entry.trim()).filter(Boolean);
    const bad = entries.filter((entry) => !isProxyEntry(entry));
    if (bad.length > 0 || entries.length === 0) {
      context.addIssue({
        code: 'custom',
        message: `expected proxy addresses or CIDR ranges (or loopback, linklocal, uniquelocal), comma-separated; not ${bad.map((entry) => `"${entry}"`).join(', ') || `"${text}"`}`,
      });
      return z.NEVER;
    }
    return entries;
  });

/**
 * Environment variables every entry point reads. Services add their own fields with
 * `commonEnvironmentSchema.extend({...})`.
 */
export const commonEnvironmentSchema = z.object({
  /** Public HTTP port. */
  PORT: env.port(8080),
  /** Address to listen on. */
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: env.logLevel(),
  /** PostgreSQL URL; absent = embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /**
   * PostgreSQL: hot reads as named prepared statements described once per connection; false
   * behind a pooler that drops prepared statements between transactions.
   */
  DATABASE_PREPARED_STATEMENTS: env.boolean(true),
  /** Folder for embedded data (PGlite). */
  DATA_DIR: z.string().default('./data'),
  /** RabbitMQ URL; absent = in-process bus (one-process mode only). */
  RABBITMQ_URL: z.url({ protocol: /^amqps?$/ }).optional(),
  /** Prefix of every RabbitMQ queue and exchange name, to share one broker between deployments. */
  BUS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, dash and underscore only')
    .optional(),
  /** This process's id, used for its own request queue; unique per process. */
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only')
    .default(`${hostname()}-${process.pid}`),
  /** Longest time one shutdown step may take before it is abandoned. */
  SHUTDOWN_STEP_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /** The proxies whose X-Forwarded-For names the client (see {@link trustProxySchema}); unset: none. */
  TRUST_PROXY: trustProxySchema,
});

export type CommonEnvironment = z.infer<typeof commonEnvironmentSchema>;

/**
 * For a service running on its own: in-process stand-ins cannot reach the other services,
 * so the database and broker URLs are required there.
 */
export const standaloneEnvironmentSchema = commonEnvironmentSchema.extend({
  DATABASE_URL: z.url({
    protocol: /^postgres(ql)?$/,
    error: 'required when a service runs on its own (use `pnpm start` for the one-process mode)',
  }),
  RABBITMQ_URL: z.url({
    protocol: /^amqps?$/,
    error: 'required when a service runs on its own (use `pnpm start` for the one-process mode)',
  }),
});
