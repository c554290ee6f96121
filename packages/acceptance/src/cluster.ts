import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { startTestTelephony, type TelephonyKind, type TestTelephony } from '@avp/asterisk-testing';
import { createRabbitMqBus, isAppError, rpcCall, silentLogger, type Bus } from '@avp/shared';
import { createTestPostgresDatabase, eventually, findInfrastructure, freePort, type Infrastructure, type TestPostgresDatabase } from '@avp/shared/testing';
import { startFakeLlm, type FakeLlm } from '@avp/pipeline-manager/llm-fake';
import { startPrivatePostgres, startPrivateRabbitMq, type PrivateServer } from './private-servers.ts';
import { logFileOf, ServiceProcess, type RunningService, type ServiceName } from './service-processes.ts';

export type { RunningService, ServiceName } from './service-processes.ts';

/** Paths served by flow-manager's public API; everything else under /v1.0 is ai-manager's. */
const flowManagerPaths = /^\/v1\.0\/(flows|numbers|activeflows|calls|conversation_messages)(\/|\?|$)/;

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

/** A customer's view of the platform's public API (both services, one access key). */
export interface Client {
  customerId: string;
  key: string;
  request<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<ApiResponse<T>>;
  /** Like request, but any status >= 400 throws with the body. */
  api<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T>;
}

export interface Cluster {
  namespace: string;
  /** The Asterisk the calls go through: the simulator or a real Asterisk 23. */
  telephony: TestTelephony;
  llm: FakeLlm;
  /** A bus client of the test, in the cluster's namespace (RPC to the services). */
  bus: Bus;
  ariApp: string;
  services: Record<ServiceName, RunningService>;
  /** Every service process (a second pipeline-manager is `pipeline-manager-2`), to crash, stall or restart. */
  processes: Record<string, ServiceProcess>;
  /** The cluster's own PostgreSQL and RabbitMQ when started with `servers: 'private'`. */
  servers: { postgres: PrivateServer; rabbitmq: PrivateServer } | undefined;
  /** Waits until every running service process answers /readyz again. */
  waitUntilReady(timeoutMs?: number): Promise<void>;
  adminToken: string;
  /** The admin API of ai-manager. */
  admin<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<ApiResponse<T>>;
  /** A new customer with `balance` units on its billing account (default 10). */
  newCustomer(name: string, options?: { balance?: number }): Promise<Client>;
  /** The pipelines the pipeline-manager processes run (their `GET /v1/pipelines` over the bus). */
  pipelines(): Promise<{ pipeline_id: string; aicall_id: string; call_id: string }[]>;
  /** The last `lines` lines of each service's log. */
  logTail(lines?: number): string;
  /** Stops everything; the logs are kept (and their folder printed) when `keepLogs`. */
  stop(options?: { keepLogs?: boolean }): Promise<void>;
}

export type ClusterOrSkip = { cluster: Cluster; skipReason?: undefined } | { cluster?: undefined; skipReason: string };

/**
 * Starts the three services as separate processes (`node --import tsx services/<name>/src/main.ts`,
 * as deployed) on a fresh PostgreSQL database and their own RabbitMQ namespace, with the
 * Asterisk simulator (or a real Asterisk 23 and its phones) and a fake LLM vendor. Resolves once every process
 * logged "platform started", answers /readyz, flow-manager's Stasis app is connected and
 * pipeline-manager serves its queue. Without PostgreSQL or RabbitMQ it resolves with the
 * reason to skip.
 */
export async function startCluster(options: {
  label: string;
  extraEnvironment?: Partial<Record<ServiceName, Record<string, string>>>;
  /** The simulator (default) or a real Asterisk. */
  telephony?: TelephonyKind;
  /** The machine's PostgreSQL and RabbitMQ (default), or a private server of each (fault tests stop and restart them). */
  servers?: 'shared' | 'private';
  /** pipeline-manager processes (default 1). */
  pipelineManagers?: number;
}): Promise<ClusterOrSkip> {
  let privateServers: { postgres: PrivateServer; rabbitmq: PrivateServer } | undefined;
  if (options.servers === 'private') {
    const postgresServer = await startPrivatePostgres();
    const rabbitmqServer = await startPrivateRabbitMq().catch(async (error: unknown) => {
      await postgresServer.destroy();
      throw error;
    });
    privateServers = { postgres: postgresServer, rabbitmq: rabbitmqServer };
  }
  const privateInfrastructure = (server: PrivateServer): Infrastructure => ({ available: true, url: server.url, stop: () => server.destroy() });
  const postgres: Infrastructure = privateServers ? privateInfrastructure(privateServers.postgres) : await findInfrastructure('postgres');
  const rabbitmq: Infrastructure = privateServers ? privateInfrastructure(privateServers.rabbitmq) : await findInfrastructure('rabbitmq');
  if (!postgres.available || !rabbitmq.available) {
    await postgres.stop();
    await rabbitmq.stop();
    return { skipReason: [postgres.reason, rabbitmq.reason].filter(Boolean).join('; ') };
  }
  const namespace = `acc-${options.label}-${randomUUID().slice(0, 8)}`;
  const adminToken = randomBytes(16).toString('hex');
  const ariApp = namespace;
  const logDirectory = mkdtempSync(path.join(tmpdir(), `avp-${namespace}-`));
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    cleanups.push(() => postgres.stop(), () => rabbitmq.stop());
    const database: TestPostgresDatabase = await createTestPostgresDatabase({ adminUrl: postgres.url });
    cleanups.push(() => database.drop());
    cleanups.push(() => deleteNamespace(rabbitmq.url, namespace));
    const telephony = await startTestTelephony(options.telephony ?? 'simulator', { ariApp, ariUser: 'asterisk', ariPassword: 'acceptance' });
    cleanups.push(() => telephony.close());
    const llm = await startFakeLlm();
    cleanups.push(() => llm.close());
    const bus = await createRabbitMqBus({ url: rabbitmq.url, logger: silentLogger(), namespace });
    cleanups.push(() => bus.close());

    const common = {
      DATABASE_URL: database.url,
      RABBITMQ_URL: rabbitmq.url,
      BUS_NAMESPACE: namespace,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      SHUTDOWN_STEP_TIMEOUT_MS: '3000',
    };
    const ports = { 'ai-manager': await freePort(), 'flow-manager': await freePort(), 'pipeline-manager': await freePort() };
    const environments: Record<ServiceName, Record<string, string>> = {
      'ai-manager': {
        ADMIN_TOKEN: adminToken,
        ENGINE_KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
        RATE_LIMIT_PER_SECOND: '0',
        // New customers start at zero (the 402 case); the harness tops the others up.
        BILLING_INITIAL_BALANCE: '0',
        ...options.extraEnvironment?.['ai-manager'],
      },
      'flow-manager': {
        ARI_URL: telephony.url,
        ARI_TEL_DIAL_TEMPLATE: telephony.telDialTemplate,
        ARI_USER: 'asterisk',
        ARI_PASSWORD: 'acceptance',
        ARI_APP: ariApp,
        // The scenarios poll; the rate limit has tests of its own.
        RATE_LIMIT_PER_SECOND: '0',
        ...options.extraEnvironment?.['flow-manager'],
      },
      'pipeline-manager': {
        RTP_ADDRESS: '127.0.0.1',
        VAD_ENGINE: 'energy',
        OPENAI_BASE_URL: `${llm.baseUrl}/v1`,
        OPENAI_API_KEY: llm.goodKey,
        ...options.extraEnvironment?.['pipeline-manager'],
      },
    };
    const processes: Record<string, ServiceProcess> = {};
    const names: [string, ServiceName][] = [
      ['ai-manager', 'ai-manager'],
      ['flow-manager', 'flow-manager'],
      ...Array.from({ length: options.pipelineManagers ?? 1 }, (_, index): [string, ServiceName] => [index === 0 ? 'pipeline-manager' : `pipeline-manager-${index + 1}`, 'pipeline-manager']),
    ];
    // The processes stop together (SIGTERM, SIGKILL after 8 s), before Asterisk and the database go.
    cleanups.push(() => Promise.all(Object.values(processes).map((entry) => entry.close())));
    for (const [key, name] of names) {
      const port = key === name ? ports[name] : await freePort();
      const environment = { ...withoutProviderKeys(process.env), ...common, ...environments[name] };
      const environmentOfPort = (own: number): Record<string, string> => (name === 'flow-manager' ? { MEDIA_BASE_URL: `http://127.0.0.1:${own}` } : {});
      processes[key] = new ServiceProcess(name, environment, port, `${key}-${namespace}`, logFileOf(logDirectory, key), environmentOfPort);
    }
    const services = {
      'ai-manager': processes['ai-manager']!.service,
      'flow-manager': processes['flow-manager']!.service,
      'pipeline-manager': processes['pipeline-manager']!.service,
    };
    const logTail = (lines = 40) =>
      Object.entries(processes)
        .map(([key, entry]) => `--- ${key} (${entry.service.logFile}) ---\n${entry.logText().split('\n').slice(-lines).join('\n')}`)
        .join('\n');
    let portMoves = 0;
    const waitUntilReady = async (timeoutMs = 90_000, { movePorts = false } = {}) =>
      eventually(
        async () => {
          for (const entry of Object.values(processes)) {
            if (movePorts && entry.lostItsPort() && portMoves < 5) {
              portMoves += 1;
              await entry.moveTo(await freePort());
              return false;
            }
            if (!entry.running) throw new Error(`${entry.service.name} (${entry.service.instanceId}) is not running`);
          }
          for (const entry of Object.values(processes)) {
            if (!entry.startedSince()) return false;
            const ready = await fetch(`${entry.service.url}/readyz`).then(
              (response) => response.ok,
              () => false,
            );
            if (!ready) return false;
          }
          return true;
        },
        'the service processes to be ready',
        timeoutMs,
        200,
      );

    // Ready: started (logged after the services began consuming), /readyz, ARI and the bus.
    try {
      await waitUntilReady(90_000, { movePorts: true });
      await telephony.waitForApp(20_000);
      await rpcCall(bus, 'pipeline-manager', 'GET', '/v1/ping', undefined, { instanceId: services['pipeline-manager'].instanceId, timeoutMs: 5000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${logTail()}`, { cause: error });
    }

    const admin = async <T>(method: string, url: string, body?: unknown): Promise<ApiResponse<T>> => call<T>(services['ai-manager'].url, method, url, adminToken, body);
    const cluster: Cluster = {
      namespace,
      telephony,
      llm,
      bus,
      ariApp,
      services,
      processes,
      servers: privateServers,
      waitUntilReady,
      adminToken,
      admin,
      async newCustomer(name, customerOptions = {}) {
        const created = await admin<{ id: string; accesskey: { key: string } }>('POST', '/v1.0/customers', { name });
        if (created.status !== 200 && created.status !== 201) throw new Error(`POST /v1.0/customers: ${created.status} ${JSON.stringify(created.body)}`);
        const balance = customerOptions.balance ?? 10;
        if (balance > 0) {
          const account = await admin<{ id: string }>('GET', `/v1.0/customers/${created.body.id}/billing-account`);
          const added = await admin('POST', `/v1.0/billing-accounts/${account.body.id}/balance_add`, { amount: Math.round(balance * 1_000_000), detail: 'acceptance suite' });
          if (added.status >= 400) throw new Error(`balance_add: ${added.status} ${JSON.stringify(added.body)}`);
        }
        const key = created.body.accesskey.key;
        const request = <T>(method: string, url: string, body?: unknown) =>
          call<T>(flowManagerPaths.test(url) ? services['flow-manager'].url : services['ai-manager'].url, method, url, key, body);
        return {
          customerId: created.body.id,
          key,
          request,
          async api<T>(method: string, url: string, body?: unknown): Promise<T> {
            const response = await request<T>(method, url, body);
            if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
            return response.body;
          },
        };
      },
      async pipelines() {
        // Every pipeline-manager process's pipelines (a session may have moved to the second one).
        const instances = Object.values(processes).filter((entry) => entry.service.name === 'pipeline-manager' && entry.running);
        const lists = await Promise.all(
          instances.map((entry) =>
            rpcCall<{ result: { pipeline_id: string; aicall_id: string; call_id: string }[] }>(bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, {
              instanceId: entry.service.instanceId,
              timeoutMs: 5000,
            }).catch((error: unknown) => {
              // A process still starting (after a crash) serves no queue yet and runs no pipeline.
              if (isAppError(error) && error.reason === 'ROUTE_NOT_FOUND') return { result: [] };
              throw error;
            }),
          ),
        );
        return lists.flatMap((listed) => listed.result);
      },
      logTail,
      async stop(stopOptions = {}) {
        await cleanUp();
        if (stopOptions.keepLogs) console.warn(`acceptance: service logs kept in ${logDirectory}`);
        else rmSync(logDirectory, { recursive: true, force: true });
      },
    };
    return { cluster };
  } catch (error) {
    await cleanUp();
    console.warn(`acceptance: service logs kept in ${logDirectory}`);
    throw error;
  }
}

async function call<T>(base: string, method: string, url: string, key: string, body?: unknown): Promise<ApiResponse<T>> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** The test's own environment without provider keys, so a developer's keys never reach the fakes' processes. */
function withoutProviderKeys(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(environment)) {
    if (/_API_KEY$|_BASE_URL$|^DATABASE_URL|^RABBITMQ_URL|^BUS_NAMESPACE|^PORT$|^INSTANCE_ID$|^BILLING_|^ARI_/.test(name)) continue;
    kept[name] = value;
  }
  return kept;
}

/** Deletes the durable queues and exchanges of a namespace (temporary ones go with their connections). */
async function deleteNamespace(url: string, namespace: string): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const queues = [
      'ai-manager.request',
      'flow-manager.request',
      'pipeline-manager.request',
      ...['pipeline-terminated', 'call-hangup', 'call-dtmf'].flatMap((name) => [`ai-manager.${name}`, `ai-manager.${name}.dead`]),
    ];
    for (const queue of queues) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${namespace}.${queue}`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of ['ai-manager.event', 'flow-manager.event', 'pipeline-manager.event']) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(`${namespace}.${exchange}`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}
