import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/bus.ts';
import { createBus } from '../bus/create-bus.ts';
import { createDatabase, type Database } from '../db/index.ts';
import { createHttpServer } from '../http/create-http-server.ts';
import { GracefulShutdown } from '../http/graceful-shutdown.ts';
import { registerHealthRoutes, type ReadinessCheck } from '../http/health-routes.ts';
import { createMetricsRegistry, registerMetrics } from '../http/metrics.ts';
import type { CommonEnvironment } from './common-environment.ts';
import type { Service, ServiceFactory } from './service-definition.ts';

export interface StartPlatformOptions {
  /** Services to run in this process: one for a standalone service, all three embedded. */
  services: ServiceFactory[];
  environment: CommonEnvironment;
  logger: Logger;
  /** Install SIGTERM/SIGINT handlers (default true; tests pass false and call stop()). */
  handleSignals?: boolean;
}

/** A running process: its server, dependencies and a stop function. */
export interface RunningPlatform {
  app: FastifyInstance;
  bus: Bus;
  database: Database;
  metrics: Registry;
  services: Service[];
  /** The base URL the HTTP server listens on. */
  url: string;
  /** Graceful stop: not ready, stop taking work, finish in-flight, close connections. */
  stop(): Promise<void>;
}

/**
 * Starts services in this process on one HTTP server with `/healthz`, `/readyz` and
 * `/metrics`. The database (PostgreSQL or PGlite) and the bus (RabbitMQ or in-process) are
 * chosen by DATABASE_URL and RABBITMQ_URL. Whatever was started is closed again if a later
 * step fails, so a failed boot leaves nothing behind.
 */
export async function startPlatform(options: StartPlatformOptions): Promise<RunningPlatform> {
  const { environment, logger } = options;
  const shutdown = new GracefulShutdown(logger, environment.SHUTDOWN_STEP_TIMEOUT_MS);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const database = await createDatabase({ url: environment.DATABASE_URL, dataDir: environment.DATA_DIR, logger, preparedStatements: environment.DATABASE_PREPARED_STATEMENTS });
    cleanups.unshift(() => database.close());
    logger.info({ driver: database.kind }, 'database connected');

    const bus = await createBus({ rabbitmqUrl: environment.RABBITMQ_URL, namespace: environment.BUS_NAMESPACE, logger });
    cleanups.unshift(() => bus.close());
    logger.info({ kind: environment.RABBITMQ_URL ? 'rabbitmq' : 'in-process' }, 'bus connected');

    const metrics = createMetricsRegistry();
    const context = { database, bus, logger, metrics, instanceId: environment.INSTANCE_ID };
    const services: Service[] = [];
    for (const factory of options.services) services.push(await factory(context));

    const app = createHttpServer({ logger, ...(environment.TRUST_PROXY === undefined ? {} : { trustProxy: environment.TRUST_PROXY }) });
    cleanups.unshift(() => app.close());
    registerMetrics(app, metrics);
    const checks: Record<string, ReadinessCheck> = { database: () => database.ping(), bus: () => bus.isHealthy() };
    for (const service of services) Object.assign(checks, service.readinessChecks);
    registerHealthRoutes(app, { checks, isDraining: () => shutdown.isDraining() });
    for (const service of services) await service.registerRoutes(app);
    await app.listen({ port: environment.PORT, host: environment.HOST });

    for (const service of services) {
      await service.start();
      cleanups.unshift(() => service.stop());
    }

    // Stop taking work first, then let in-flight HTTP requests finish, then close connections.
    for (const service of [...services].reverse()) shutdown.add(`stop ${service.name}`, () => service.stop());
    shutdown.add('close http server', () => app.close());
    shutdown.add('close bus', () => bus.close());
    shutdown.add('close database', () => database.close());
    if (options.handleSignals ?? true) shutdown.installSignalHandlers();

    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : environment.PORT;
    const host = environment.HOST === '0.0.0.0' ? '127.0.0.1' : environment.HOST;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    logger.info({ url, services: services.map((service) => service.name) }, 'platform started');
    return { app, bus, database, metrics, services, url, stop: () => shutdown.shutdown('stop requested') };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    throw error;
  }
}
