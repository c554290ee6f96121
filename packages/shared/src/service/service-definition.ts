import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus } from '../bus/bus.ts';
import type { Database } from '../db/index.ts';
import type { ReadinessCheck } from '../http/health-routes.ts';

/** What every service is built from: explicit dependencies, no globals. */
export interface ServiceContext {
  database: Database;
  bus: Bus;
  logger: Logger;
  metrics: Registry;
  /** This process's id (for per-instance queues). */
  instanceId: string;
}

/**
 * A service as the runtime sees it. Building it (migrations, wiring) happens in its
 * factory; `start` begins taking work from the bus; `stop` stops taking work and waits for
 * what is in flight. HTTP routes are registered before the server listens.
 */
export interface Service {
  name: string;
  /**
   * Dependencies of the service's own that /readyz checks besides the database and the bus
   * (flow-manager's ARI connection), by name.
   */
  readinessChecks?: Record<string, ReadinessCheck>;
  registerRoutes(app: FastifyInstance): void | Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds a service from the shared context. */
export type ServiceFactory = (context: ServiceContext) => Promise<Service>;
