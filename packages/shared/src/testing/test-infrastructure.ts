import { existsSync } from 'node:fs';
import { connect } from 'node:net';

/** A server that integration tests need. */
export type InfrastructureName = 'postgres' | 'rabbitmq';

/** Where a test finds a server, or why it cannot. */
export interface Infrastructure {
  available: boolean;
  /** Connection URL (admin database for PostgreSQL). */
  url: string;
  /** Why it is unavailable, for the skip message. */
  reason?: string;
  /** Stops what was started for the test (a container); a no-op for the machine's server. */
  stop(): Promise<void>;
}

const defaults: Record<InfrastructureName, { variable: string; url: string; image: string; port: number }> = {
  postgres: {
    variable: 'DATABASE_URL_ADMIN',
    url: 'postgres://postgres@127.0.0.1:5432/postgres',
    image: 'postgres:15-alpine',
    port: 5432,
  },
  rabbitmq: { variable: 'RABBITMQ_URL', url: 'amqp://guest:guest@127.0.0.1:5672', image: 'rabbitmq:3.13-alpine', port: 5672 },
};

/**
 * Finds a server for integration tests: the one named by its environment variable (or the
 * usual local address) when it answers; else a container through testcontainers when a
 * Docker engine exists; else "unavailable", which tests turn into a skip with the reason.
 * Under CI=true an unavailable server throws instead, so CI never passes by skipping.
 */
export async function findInfrastructure(name: InfrastructureName): Promise<Infrastructure> {
  const settings = defaults[name];
  const url = process.env[settings.variable] ?? settings.url;
  if (await isReachable(url, settings.port)) return { available: true, url, stop: async () => undefined };
  if (dockerEngineExists()) return startContainer(name);
  const reason = `${name} is not reachable at ${redactPassword(url)} (set ${settings.variable}) and no Docker engine exists`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI needs it`);
  console.warn(`skipping ${name} tests: ${reason}`);
  return { available: false, url, reason, stop: async () => undefined };
}

/** Whether a TCP connection to the URL's host and port opens within a second. */
export function isReachable(url: string, defaultPort: number, timeoutMs = 1000): Promise<boolean> {
  const parsed = new URL(url);
  const port = Number(parsed.port || defaultPort);
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const finish = (reachable: boolean) => {
      socket.destroy();
      resolve(reachable);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function dockerEngineExists(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

async function startContainer(name: InfrastructureName): Promise<Infrastructure> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const settings = defaults[name];
  const container = new GenericContainer(settings.image).withExposedPorts(settings.port);
  const started =
    name === 'postgres'
      ? await container
          .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
          .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
          .start()
      : await container.withWaitStrategy(Wait.forLogMessage(/Server startup complete/)).start();
  const host = started.getHost();
  const port = started.getMappedPort(settings.port);
  const url = name === 'postgres' ? `postgres://postgres@${host}:${port}/postgres` : `amqp://guest:guest@${host}:${port}`;
  return { available: true, url, stop: async () => void (await started.stop()) };
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
