import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, isReachable } from '@avp/shared/testing';

const run = promisify(execFile);

/**
 * PostgreSQL and RabbitMQ servers of one test file's own (own data directory and ports), so a
 * fault suite can stop, kill and restart them without touching the machine's shared servers
 * that every other test uses. They run the machine's Debian binaries under their system users.
 */
export interface PrivateServer {
  /** Connection URL (PostgreSQL: the admin database). */
  readonly url: string;
  /** Stops the server cleanly and starts it again (data kept). */
  restart(): Promise<void>;
  /** Stops it (clients see it go away) until `start`. `mode` immediate = like a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

/** Why private servers cannot run here (not root, binaries missing), or undefined. */
export function privateServersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'private PostgreSQL and RabbitMQ nodes need root (to run as their system users)';
  if (!postgresBinaries()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
  if (!existsSync('/usr/sbin/rabbitmq-server')) return 'no rabbitmq-server';
  return undefined;
}

function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort().at(-1);
  return version && existsSync(join(root, version, 'bin', 'pg_ctl')) ? join(root, version, 'bin') : undefined;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A PostgreSQL cluster in a temporary directory on a free port (trust auth, fsync off). */
export async function startPrivatePostgres(): Promise<PrivateServer> {
  const bin = postgresBinaries();
  if (!bin) throw new Error('no PostgreSQL server binaries');
  const directory = mkdtempSync('/tmp/avp-fault-pg-');
  await run('chown', ['postgres:postgres', directory]);
  const port = await freePort();
  const asPostgres = (command: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { timeout: 60_000 });
  await asPostgres('initdb', ['-D', join(directory, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    await asPostgres('pg_ctl', ['-D', join(directory, 'data'), '-l', join(directory, 'log'), '-w', '-o', `-p ${port} -k ${directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    await waitUntil(() => isReachable(url, port), 'the private PostgreSQL', 30_000);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await asPostgres('pg_ctl', ['-D', join(directory, 'data'), '-m', mode, '-w', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    url,
    restart: async () => {
      await stop('fast');
      await start();
    },
    stop,
    start,
    destroy: async () => {
      await stop('immediate');
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** A RabbitMQ node of its own (`<name>@localhost`) on free ports, with the machine's Erlang cookie. */
export async function startPrivateRabbitMq(): Promise<PrivateServer> {
  const directory = mkdtempSync('/tmp/avp-fault-mq-');
  await run('chown', ['rabbitmq:rabbitmq', directory]);
  const port = await freePort();
  const distributionPort = await freePort();
  const node = `${directory.split('-').at(-1)!.toLowerCase()}@localhost`;
  const environment: Record<string, string> = {
    HOME: '/var/lib/rabbitmq',
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distributionPort),
    RABBITMQ_MNESIA_BASE: join(directory, 'mnesia'),
    RABBITMQ_LOG_BASE: join(directory, 'log'),
    RABBITMQ_PID_FILE: join(directory, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(directory, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(directory, 'rabbitmq'),
  };
  // runuser does not pass the caller's environment on reliably: `env` sets it for the command.
  const settings = Object.entries(environment).map(([name, value]) => `${name}=${value}`);
  // The CLI gets HOME only: with the node's own ports set it would try to take them itself.
  const control = (args: string[]) => run('runuser', ['-u', 'rabbitmq', '--', 'env', 'HOME=/var/lib/rabbitmq', 'rabbitmqctl', '-n', node, ...args], { timeout: 60_000 });
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const start = async () => {
    const server = spawn('runuser', ['-u', 'rabbitmq', '--', 'env', ...settings, 'rabbitmq-server', '-detached'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => server.once('exit', () => resolve()));
    // `-detached` returns before the node exists; AMQP listening is what clients need.
    await waitUntil(() => isReachable(url, port), 'the private RabbitMQ node', 60_000);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (mode === 'immediate') {
      // The node writes its Erlang VM's pid to RABBITMQ_PID_FILE.
      const pid = Number(readFileSync(join(directory, 'pid'), 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
    } else {
      await control(['stop']).catch(() => undefined);
    }
    await waitUntil(async () => !(await isReachable(url, port)), 'the private RabbitMQ node to stop', 30_000);
  };
  await start();
  return {
    url,
    restart: async () => {
      await stop('fast');
      await start();
    },
    stop,
    start,
    destroy: async () => {
      await stop('fast').catch(() => stop('immediate'));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
