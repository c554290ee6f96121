import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { appError, createRabbitMqBus, createRpcRouter, silentLogger } from '@avp/shared';
import { createTestPostgresDatabase, eventually, findInfrastructure, freePort } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

interface LogLine {
  level: number;
  /** ISO 8601. */
  time: string;
  msg: string;
}

/**
 * flow-manager as deployed (its own process, main.ts, PostgreSQL + RabbitMQ) started while
 * nothing answers on its ARI_URL, as when it comes up before Asterisk: it must serve, say
 * why it is not ready and keep trying, not exit; and take calls once Asterisk is there.
 */
describe('flow-manager started before Asterisk', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const ariApp = `avp-${randomUUID().slice(0, 8)}`;
  const key = `key-${randomUUID()}`;
  let skipReason: string | undefined;
  let child: ChildProcess;
  let output = '';
  let url = '';
  let ariPort = 0;

  const logLines = (): LogLine[] =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  const logged = (message: string) => logLines().filter((line) => line.msg === message);
  const running = () => child.exitCode === null && child.signalCode === null;

  async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const parsed = (await response.json()) as T;
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
    return parsed;
  }

  beforeAll(async () => {
    const postgres = await findInfrastructure('postgres');
    const rabbitmq = await findInfrastructure('rabbitmq');
    cleanups.push(() => postgres.stop(), () => rabbitmq.stop());
    if (!postgres.available || !rabbitmq.available) {
      skipReason = [postgres.reason, rabbitmq.reason].filter(Boolean).join('; ');
      return;
    }
    const database = await createTestPostgresDatabase({ adminUrl: postgres.url });
    cleanups.push(() => database.drop());
    const namespace = `ari-start-${randomUUID().slice(0, 8)}`;
    cleanups.push(async () => {
      const connection = await amqp.connect(rabbitmq.url);
      const channel = await connection.createChannel();
      for (const queue of ['ai-manager.request', 'flow-manager.request']) await channel.deleteQueue(`${namespace}.${queue}`);
      await channel.deleteExchange(`${namespace}.flow-manager.event`);
      await connection.close();
    });
    const bus = await createRabbitMqBus({ url: rabbitmq.url, logger: silentLogger(), namespace });
    cleanups.push(() => bus.close());
    // ai-manager's side of the access-key check flow-manager's public API makes over the bus.
    const customerId = randomUUID();
    const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
      return { customer_id: customerId, accesskey_id: randomUUID() };
    });
    await bus.serve('ai-manager', aiManager.handle, { shared: true });

    // Nothing listens on this port until the test starts the simulator there.
    ariPort = await freePort();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'services/flow-manager/src/main.ts'], {
      cwd: repositoryRoot,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: database.url,
        RABBITMQ_URL: rabbitmq.url,
        BUS_NAMESPACE: namespace,
        INSTANCE_ID: `flow-manager-${namespace}`,
        HOST: '127.0.0.1',
        PORT: String(port),
        // Debug, to see every failed ARI attempt next to the warnings that summarise them.
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        SHUTDOWN_STEP_TIMEOUT_MS: '3000',
        ARI_URL: `http://127.0.0.1:${ariPort}`,
        ARI_USER: 'asterisk',
        ARI_PASSWORD: 'secret',
        ARI_APP: ariApp,
        MEDIA_BASE_URL: url,
        RATE_LIMIT_PER_SECOND: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(timer);
    });
  }, 60_000);

  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  }, 60_000);

  it('serves, fails /readyz on ARI and keeps retrying without exiting, then takes calls once Asterisk answers', async (context) => {
    if (skipReason) return context.skip(skipReason);
    let simulator: AsteriskSimulator | undefined;
    try {
      await eventually(() => !running() || logged('platform started').length > 0, 'flow-manager to start', 40_000, 100);
      expect(running(), output).toBe(true);

      const notReady = await fetch(`${url}/readyz`);
      expect(notReady.status).toBe(503);
      const { error } = (await notReady.json()) as { error: { details: { checks: Record<string, string> } } };
      expect(error.details.checks).toMatchObject({
        database: 'ok',
        bus: 'ok',
        ari: `failing: not connected to ARI at http://127.0.0.1:${ariPort}; retrying`,
      });

      // Past the 10 s after which flow-manager used to exit, still trying: every attempt at
      // debug, one warning for the whole outage so far.
      const firstFailure = logged('ari not reachable yet; retrying')[0]!;
      await eventually(() => Date.now() > Date.parse(firstFailure.time) + 11_000, '11 s of ARI failing', 20_000, 200);
      expect(running(), output).toBe(true);
      expect(logged('ari connection attempt failed; retrying').length).toBeGreaterThanOrEqual(6);
      expect(logged('ari not reachable yet; retrying')).toHaveLength(1);

      // The public API works meanwhile.
      const flow = await api<{ id: string }>('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'hangup' }] });
      const number = `+1${Math.floor(Math.random() * 1e10)}`;
      await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

      // Asterisk comes up where flow-manager has been knocking: within one backoff step (5 s).
      simulator = await startAsteriskSimulator({ ariPort, ariUser: 'asterisk', ariPassword: 'secret' });
      await simulator.waitForApp(ariApp, 10_000);
      await eventually(async () => (await fetch(`${url}/readyz`)).ok, 'flow-manager to be ready', 10_000, 100);
      await eventually(() => logged('stasis app connected').length === 1, 'the stasis app to be started', 5000, 50);

      const caller = simulator.placeCall({ app: ariApp, extension: number, callerNumber: '+15550001111' });
      await caller.waitForAnswer(10_000);
      await caller.waitForHangup(10_000);
      // The caller sees the hang-up a moment before flow-manager has stored it: poll.
      type CallRow = { channel_id: string; status: string };
      const callOf = async () => (await api<{ result: CallRow[] }>('GET', '/v1.0/calls?page_size=100')).result.find((c) => c.channel_id === caller.id);
      await eventually(async () => (await callOf())?.status === 'hangup', 'the call to be stored as hung up', 10_000, 100);
      expect(await callOf()).toMatchObject({ channel_id: caller.id, status: 'hangup' });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- flow-manager log (tail) ---\n${output.split('\n').slice(-30).join('\n')}`, { cause: error });
    } finally {
      await simulator?.close();
    }
  }, 120_000);
});
