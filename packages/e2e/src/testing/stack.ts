import { randomBytes, randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { createAiManager, type AiManager, type AiManagerOptions } from '@avp/ai-manager';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { createFlowManager, type FlowManager, type FlowManagerOptions } from '@avp/flow-manager';
import { createPipelineManager, type PipelineManager, type PipelineManagerOptions } from '@avp/pipeline-manager';
import {
  busNames,
  createDatabase,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  createRabbitMqBus,
  silentLogger,
  type Bus,
  type Database,
  type RpcHandler,
  type Service,
} from '@avp/shared';
import { createTestPgliteDatabase, createTestPostgresDatabase, findInfrastructure, freePort, type Infrastructure } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe } from 'vitest';

/**
 * The two ways the platform runs: `embedded` (PGlite and the in-process bus, as in the
 * one-process mode) and `cluster` (PostgreSQL and RabbitMQ, as deployed).
 */
export type StackMode = 'embedded' | 'cluster';

export const stackModes: readonly StackMode[] = ['embedded', 'cluster'];

export type StackServiceName = 'ai-manager' | 'flow-manager' | 'pipeline-manager';

export interface StackOptions {
  mode: StackMode;
  /** Names the run (RabbitMQ namespace, customer): the test file's subject. */
  name: string;
  /** ai-manager's options over the test defaults (admin token, encryption key, no rate limit). */
  aiManager?: AiManagerOptions;
  /** Instead of ai-manager: a stand-in served as `ai-manager` on the bus (no customer is created then). */
  aiManagerStandIn?: (bus: Bus) => RpcHandler;
  /** pipeline-manager's options; `false` leaves it out (a test that runs it as its own process). */
  pipelineManager?: PipelineManagerOptions | false;
  /** flow-manager's options; `ari` is set to the simulator. */
  flowManager?: Omit<FlowManagerOptions, 'ari'>;
  /** The ARI application flow-manager registers (default `avp`). */
  ariApp?: string;
  /** A service's view of the bus (e.g. one that loses replies); default the bus itself. */
  busFor?: (service: StackServiceName, bus: Bus) => Bus;
  /** The port the HTTP API listens on (default: a free one), for options that must name it beforehand. */
  port?: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type ApiBody = Record<string, unknown> & { result?: unknown[] };
export type Api = (method: HttpMethod, url: string, body?: unknown) => Promise<ApiBody>;

/** A script for the offline scripted engine: greets, asks the caller's name, answers with it and ends. */
export const askNameScript = {
  script: [
    { say: 'Hello, this is the offline assistant. What is your name?' },
    { wait: 'answer', into: 'name' },
    { say: 'Nice to meet you, ${name}. Goodbye.' },
    { end: true },
  ],
};

/** The body of `POST /v1.0/ais` for an AI on the offline scripted engine, spoken by espeak-ng; `fields` add to it. */
export function scriptedAi(script: object, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'offline', engine_model: 'local.scripted', init_prompt: JSON.stringify(script), tts_type: 'local', stt_language: 'en-US', ...fields };
}

/** A flow's actions: answer, ai_talk with the AI, then (when given) a talk saying `thenSay`, and hangup. */
export function aiTalkActions(aiId: unknown, thenSay?: string): object[] {
  return [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, ...(thenSay ? [{ type: 'talk', option: { text: thenSay } }] : []), { type: 'hangup' }];
}

/** The three services, the simulator and the HTTP API, on one database and bus. */
export interface Stack {
  mode: StackMode;
  database: Database;
  /** The bus as the test sees it (the services may see a wrapped one, see `busFor`). */
  bus: Bus;
  simulator: AsteriskSimulator;
  app: FastifyInstance;
  ariApp: string;
  adminToken: string;
  /** The access key of the customer created for the test ('' with an ai-manager stand-in). */
  key: string;
  flowManager: FlowManager;
  /** Undefined with an ai-manager stand-in. */
  aiManager: AiManager;
  /** Undefined when `pipelineManager: false`. */
  pipelineManager: PipelineManager;
  /** In cluster mode: what another process needs to join this stack. */
  cluster: { databaseUrl: string; rabbitmqUrl: string; namespace: string } | undefined;
  /** A request with any bearer token (default: the customer's key); never throws on a status. */
  request(method: HttpMethod, url: string, options?: { authorization?: string; body?: unknown }): Promise<{ status: number; body: ApiBody }>;
  /** The customer's API: the JSON body; throws on a 4xx/5xx status. */
  api: Api;
  /** The same API with another access key. */
  apiAs(key: string): Api;
  /** A new customer (through the admin API) and its access key. */
  createCustomer(name: string): Promise<string>;
  /** A flow of `actions` and a new number that runs it (through `api`, default the customer's); returns the number. */
  numberWithFlow(actions: object[], api?: Api): Promise<string>;
  /** Stops everything and removes the database and (cluster) the broker's queues. Idempotent. */
  stop(): Promise<void>;
}

interface Cluster {
  available: boolean;
  reason: string;
  postgres: Infrastructure | undefined;
  rabbitmq: Infrastructure | undefined;
}

let cluster: Promise<Cluster> | undefined;

/** PostgreSQL and RabbitMQ for the cluster mode, looked up once per test file. */
export function findCluster(): Promise<Cluster> {
  cluster ??= (async () => {
    const postgres = await findInfrastructure('postgres');
    const rabbitmq = await findInfrastructure('rabbitmq');
    const reason = [postgres, rabbitmq].flatMap((entry) => (entry.available ? [] : [entry.reason ?? 'unavailable'])).join('; ');
    return { available: postgres.available && rabbitmq.available, reason, postgres, rabbitmq };
  })();
  return cluster;
}

/**
 * One `describe` per run mode, with the same tests: the cluster mode is skipped (its title
 * says why) when PostgreSQL or RabbitMQ cannot be reached. Await it at the top of the file.
 */
export async function describeModes(title: string, body: (mode: StackMode) => void, modes: readonly StackMode[] = stackModes): Promise<void> {
  const infrastructure = modes.includes('cluster') ? await findCluster() : undefined;
  if (infrastructure) {
    afterAll(async () => {
      await infrastructure.postgres?.stop();
      await infrastructure.rabbitmq?.stop();
    });
  }
  for (const mode of modes) {
    const skipped = mode === 'cluster' && !infrastructure?.available;
    describe.skipIf(skipped)(`${title} [${mode}${skipped ? `, skipped: ${infrastructure?.reason}` : ''}]`, () => body(mode));
  }
}

/**
 * Starts a stack before the tests of the enclosing `describe` and stops it after them;
 * the returned object stands for the stack once started. `options` may be a function, to
 * use what an earlier `beforeAll` set up.
 */
export function useStack(options: StackOptions | (() => StackOptions | Promise<StackOptions>), timeoutMs = 90_000): Stack {
  let started: Stack | undefined;
  beforeAll(async () => {
    started = await startStack(typeof options === 'function' ? await options() : options);
  }, timeoutMs);
  afterAll(async () => {
    await started?.stop();
  }, timeoutMs);
  return new Proxy({} as Stack, {
    get(_, property) {
      if (!started) throw new Error(`the stack is not started (reading ${String(property)})`);
      return Reflect.get(started, property) as unknown;
    },
  });
}

/** Starts the three services with the Asterisk simulator on the mode's database and bus. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'the stack did not stop cleanly');
  };
  try {
    return await build(options, cleanups, stop);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

async function build(options: StackOptions, cleanups: (() => Promise<void>)[], stop: () => Promise<void>): Promise<Stack> {
  const { mode } = options;
  const ariApp = options.ariApp ?? 'avp';
  const adminToken = randomBytes(16).toString('hex');
  const runId = `e2e-${options.name}-${mode}-${randomUUID().slice(0, 8)}`;

  let clusterSettings: Stack['cluster'];
  let database: Database;
  let bus: Bus;
  if (mode === 'embedded') {
    const testDatabase = await createTestPgliteDatabase();
    cleanups.push(() => testDatabase.drop());
    database = await createDatabase(testDatabase.options);
    cleanups.push(() => database.close());
    bus = createInProcessBus();
    cleanups.push(() => bus.close());
  } else {
    const { postgres, rabbitmq, available, reason } = await findCluster();
    if (!available || !postgres || !rabbitmq) throw new Error(`the cluster mode needs PostgreSQL and RabbitMQ: ${reason}`);
    const testDatabase = await createTestPostgresDatabase({ adminUrl: postgres.url });
    cleanups.push(() => testDatabase.drop());
    database = await createDatabase(testDatabase.options);
    cleanups.push(() => database.close());
    // A namespace of its own: other test files (and the other mode) use the same broker.
    const namespace = runId;
    const names = { queues: new Set<string>(), exchanges: new Set<string>() };
    for (const service of ['ai-manager', 'flow-manager', 'pipeline-manager']) {
      names.queues.add(busNames.requestQueue(service));
      names.exchanges.add(busNames.eventExchange(service));
    }
    cleanups.push(() => deleteBrokerNames(rabbitmq.url, namespace, names));
    bus = recordingBus(await createRabbitMqBus({ url: rabbitmq.url, logger: silentLogger(), namespace }), names);
    cleanups.push(() => bus.close());
    clusterSettings = { databaseUrl: testDatabase.url, rabbitmqUrl: rabbitmq.url, namespace };
  }

  const simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
  cleanups.push(() => simulator.close());
  const context = (name: StackServiceName) => ({
    database,
    bus: options.busFor?.(name, bus) ?? bus,
    logger: silentLogger(),
    metrics: createMetricsRegistry(),
    instanceId: `${name}-${runId}`,
  });
  const port = options.port ?? (await freePort());
  const services: Service[] = [];
  let aiManager: AiManager | undefined;
  if (options.aiManagerStandIn) {
    const subscription = await bus.serve('ai-manager', options.aiManagerStandIn(bus));
    cleanups.push(() => subscription.close());
  } else {
    aiManager = await createAiManager(context('ai-manager'), {
      adminToken,
      engineKeyEncryptionKey: randomBytes(32).toString('hex'),
      rateLimit: { perSecond: 0, burst: 1 },
      ...options.aiManager,
    });
    services.push(aiManager);
  }
  const flowManager = await createFlowManager(context('flow-manager'), {
    rateLimit: { perSecond: 0, burst: 1 },
    ...options.flowManager,
    ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: ariApp }, mediaBaseUrl: `http://127.0.0.1:${port}` },
  });
  services.push(flowManager);
  const pipelineManager = options.pipelineManager === false ? undefined : await createPipelineManager(context('pipeline-manager'), options.pipelineManager);
  if (pipelineManager) services.push(pipelineManager);

  const app = createHttpServer({ logger: silentLogger() });
  cleanups.push(() => app.close());
  for (const service of services) await service.registerRoutes(app);
  await app.listen({ port, host: '127.0.0.1' });
  for (const service of services) {
    await service.start();
    cleanups.push(() => service.stop());
  }
  await simulator.waitForApp(ariApp);

  let key = '';
  const request: Stack['request'] = async (method, url, { authorization = key, body } = {}) => {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${authorization}` }, ...(body ? { payload: body as object } : {}) });
    return { status: response.statusCode, body: response.json() };
  };
  const apiAs = (accessKey: string): Api => async (method, url, body) => {
    const response = await request(method, url, { authorization: accessKey, body });
    if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const createCustomer = async (name: string) => {
    const created = await apiAs(adminToken)('POST', '/v1.0/customers', { name });
    return (created as { accesskey: { key: string } }).accesskey.key;
  };
  if (!options.aiManagerStandIn) key = await createCustomer(options.name);
  const api: Api = (method, url, body) => apiAs(key)(method, url, body);
  const numberWithFlow = async (actions: object[], through: Api = api) => {
    const flow = await through('POST', '/v1.0/flows', { actions });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await through('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    return number;
  };

  return {
    mode,
    database,
    bus,
    simulator,
    app,
    ariApp,
    adminToken,
    key,
    flowManager,
    aiManager: aiManager!,
    pipelineManager: pipelineManager!,
    cluster: clusterSettings,
    request,
    api,
    apiAs,
    createCustomer,
    numberWithFlow,
    stop,
  };
}

/** The bus, noting the durable queues and exchanges it declares so they can be deleted afterwards. */
function recordingBus(bus: Bus, names: { queues: Set<string>; exchanges: Set<string> }): Bus {
  return {
    request: (service, request, options) => bus.request(service, request, options),
    serve: (service, handler, options) => {
      if (options?.shared ?? true) names.queues.add(busNames.requestQueue(service));
      return bus.serve(service, handler, options);
    },
    publish: (publisher, event) => {
      names.exchanges.add(busNames.eventExchange(publisher));
      return bus.publish(publisher, event);
    },
    subscribe: (publisher, eventTypes, handler, options) => {
      names.exchanges.add(busNames.eventExchange(publisher));
      if (!options.temporary) names.queues.add(options.queue).add(`${options.queue}.dead`);
      return bus.subscribe(publisher, eventTypes, handler, options);
    },
    isHealthy: () => bus.isHealthy(),
    close: () => bus.close(),
  };
}

async function deleteBrokerNames(url: string, namespace: string, names: { queues: Set<string>; exchanges: Set<string> }): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    // A channel each: a failed delete closes its channel.
    for (const queue of names.queues) {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${namespace}.${queue}`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of names.exchanges) {
      const channel = await connection.createChannel();
      await channel.deleteExchange(`${namespace}.${exchange}`).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}
