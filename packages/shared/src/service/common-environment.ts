import { hostname } from 'node:os';
import { z } from 'zod';
import { env } from '../config/load-config.ts';

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
