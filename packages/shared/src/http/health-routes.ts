import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error.ts';

/** A readiness check: resolves (or returns true) when the dependency can be used. */
export type ReadinessCheck = () => boolean | Promise<boolean | void>;

export interface HealthOptions {
  /** Named checks run by /readyz, e.g. `{ database, bus }`. */
  checks: Record<string, ReadinessCheck>;
  /** True once shutdown began: /readyz answers 503 so load balancers stop sending work. */
  isDraining: () => boolean;
  /** Per-check time limit (default 1000 ms). */
  checkTimeoutMs?: number;
}

/**
 * `/healthz`: the process is alive (never touches dependencies, so a slow database does not
 * get a healthy process killed). `/readyz`: every dependency answers and the process is not
 * shutting down.
 */
export function registerHealthRoutes(app: FastifyInstance, options: HealthOptions): void {
  const timeoutMs = options.checkTimeoutMs ?? 1000;
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/readyz', { logLevel: 'warn' }, async (request, reply) => {
    const results: Record<string, string> = {};
    await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        results[name] = await runCheck(check, timeoutMs);
      }),
    );
    const draining = options.isDraining();
    const ready = !draining && Object.values(results).every((result) => result === 'ok');
    if (ready) return { status: 'ready', checks: results };
    const message = draining ? 'The service is shutting down.' : 'A dependency is not ready.';
    const error = new AppError('NOT_READY', { message, details: { checks: results, draining } });
    return reply.status(503).send(error.toBody(String(request.id)));
  });
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.resolve(check()), timeout]);
    if (outcome === 'timeout') return 'timeout';
    return outcome === false ? 'failing' : 'ok';
  } catch (error) {
    return `failing: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}
