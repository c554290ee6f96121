import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { createAiManager } from '@avp/ai-manager';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { createFlowManager } from '@avp/flow-manager';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '@avp/pipeline-manager/vendor-websocket-fakes';
import {
  createDatabase,
  createHttpServer,
  createMetricsRegistry,
  createRabbitMqBus,
  rpcCall,
  silentLogger,
  type Bus,
  type Database,
  type Service,
} from '@avp/shared';
import { createTestPostgresDatabase, eventually, findInfrastructure, freePort, type Infrastructure, type TestPostgresDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));
const adminToken = randomBytes(16).toString('hex');

/** A long greeting, so the pipeline-manager process dies while the AI is still speaking. */
const script = {
  script: [
    {
      say: 'Hello, this is the offline assistant. Thank you for calling. I will tell you a little about what I can do for you today, so please listen carefully until I have finished.',
    },
    { wait: 'answer', into: 'name' },
    { say: 'Goodbye, ${name}.' },
    { end: true },
  ],
};

/**
 * A pipeline-manager process killed (SIGKILL) in the middle of a voice AI call: ai-manager
 * and flow-manager run in this process on PostgreSQL and RabbitMQ, pipeline-manager runs as
 * its own process (its standalone entry point) on the same database and broker namespace,
 * with the offline scripted LLM and espeak-ng; Deepgram is a local socket that never
 * transcribes (the greeting needs no STT). Within a few seconds of the kill the AIcall is
 * terminated, the AI's media leg is gone from the call, and the flow goes on after `ai_talk`.
 */
describe('a pipeline-manager process killed mid-call (PostgreSQL + RabbitMQ)', () => {
  let postgres: Infrastructure;
  let rabbitmq: Infrastructure;
  let testDatabase: TestPostgresDatabase | undefined;
  let database: Database;
  let bus: Bus;
  let simulator: AsteriskSimulator;
  let deepgram: FakeWebSocketServer;
  let services: Service[] = [];
  let app: FastifyInstance;
  let child: ChildProcess | undefined;
  let childExited: Promise<void> = Promise.resolve();
  const childOutput: string[] = [];
  const namespace = `test-crash-${randomUUID().slice(0, 8)}`;
  const pipelineInstance = `pipeline-crash-${randomUUID().slice(0, 8)}`;
  let key = '';

  beforeAll(async () => {
    postgres = await findInfrastructure('postgres');
    rabbitmq = await findInfrastructure('rabbitmq');
    if (!postgres.available || !rabbitmq.available) return;
    testDatabase = await createTestPostgresDatabase({ adminUrl: postgres.url });
    database = await createDatabase(testDatabase.options);
    bus = await createRabbitMqBus({ url: rabbitmq.url, logger: silentLogger(), namespace });
    simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
    deepgram = await startFakeWebSocketServer();

    const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-${namespace}` });
    const port = await freePort();
    const aiManager = await createAiManager(context('ai-manager'), {
      adminToken,
      engineKeyEncryptionKey: randomBytes(32).toString('hex'),
      rateLimit: { perSecond: 0, burst: 1 },
      // The production default: a check every 2 s.
      pipelineWatchdog: { intervalMs: 2000 },
    });
    const flowManager = await createFlowManager(context('flow-manager'), {
      ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: 'avp' }, mediaBaseUrl: `http://127.0.0.1:${port}` },
    });
    services = [aiManager, flowManager];
    app = createHttpServer({ logger: silentLogger() });
    for (const service of services) await service.registerRoutes(app);
    await app.listen({ port, host: '127.0.0.1' });
    for (const service of services) await service.start();
    await simulator.waitForApp('avp');

    // pipeline-manager on its own, as deployed: `node --import tsx services/pipeline-manager/src/main.ts`.
    child = spawn(process.execPath, ['--import', 'tsx', 'services/pipeline-manager/src/main.ts'], {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        DATABASE_URL: testDatabase.url,
        RABBITMQ_URL: rabbitmq.url,
        BUS_NAMESPACE: namespace,
        INSTANCE_ID: pipelineInstance,
        PORT: '0',
        HOST: '127.0.0.1',
        RTP_ADDRESS: '127.0.0.1',
        VAD_ENGINE: 'energy',
        DEEPGRAM_API_KEY: 'test-key',
        DEEPGRAM_BASE_URL: deepgram.httpUrl,
        LOG_LEVEL: 'info',
        LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => childOutput.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => childOutput.push(chunk.toString('utf8')));
    const running = child;
    childExited = new Promise((resolve) => running.once('exit', () => resolve()));
    let exited = false;
    void childExited.then(() => (exited = true));
    await eventually(
      async () => {
        if (exited) throw new Error(`pipeline-manager exited at start:\n${childOutput.join('')}`);
        return rpcCall(bus, 'pipeline-manager', 'GET', '/v1/ping', undefined, { instanceId: pipelineInstance, timeoutMs: 1000 }).then(
          () => true,
          () => false,
        );
      },
      'the pipeline-manager process to serve its queue',
      60_000,
      200,
    );

    const customer = await app.inject({ method: 'POST', url: '/v1.0/customers', headers: { authorization: `Bearer ${adminToken}` }, payload: { name: 'crash' } });
    key = (customer.json() as { accesskey: { key: string } }).accesskey.key;
  }, 120_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await childExited;
    for (const service of [...services].reverse()) await service.stop().catch(() => undefined);
    await app?.close();
    await simulator?.close();
    await deepgram?.close();
    await bus?.close();
    if (rabbitmq?.available) {
      // Durable queues and exchanges of this run's namespace.
      const connection = await amqp.connect(rabbitmq.url);
      for (const queue of [
        'ai-manager.request',
        'flow-manager.request',
        'pipeline-manager.request',
        ...['pipeline-terminated', 'call-hangup', 'call-dtmf'].flatMap((name) => [`ai-manager.${name}`, `ai-manager.${name}.dead`]),
      ]) {
        const channel = await connection.createChannel();
        await channel.deleteQueue(`${namespace}.${queue}`).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
      for (const exchange of ['ai-manager.event', 'flow-manager.event', 'pipeline-manager.event']) {
        const channel = await connection.createChannel();
        await channel.deleteExchange(`${namespace}.${exchange}`).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
      await connection.close();
    }
    await database?.close();
    await testDatabase?.drop();
    await postgres?.stop();
    await rabbitmq?.stop();
  });

  async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    const json = response.json() as Record<string, unknown>;
    if (response.statusCode >= 400) throw new Error(`${method} ${url}: ${response.statusCode} ${JSON.stringify(json)}`);
    return json;
  }

  it('ends the AIcall, removes the media leg and goes on with the flow within a few seconds', async (context) => {
    if (!testDatabase) return context.skip();
    const ai = await api('POST', '/v1.0/ais', {
      name: 'offline',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(script),
      tts_type: 'local',
      stt_language: 'en-US',
    });
    const flow = await api('POST', '/v1.0/flows', {
      actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'talk', option: { text: 'back in the flow' } }, { type: 'hangup' }],
    });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const caller = simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881234' });
    try {
      await caller.waitForAudio(30_000); // The greeting, spoken by espeak-ng in the other process.
    } catch (error) {
      throw new Error(`no greeting: ${(error as Error).message}\n${childOutput.join('')}`, { cause: error });
    }
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
    const aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)!.id;
    // ai-manager stored which process runs the pipeline (not only in its memory).
    await eventually(async () => {
      const row = await database
        .forSchema<{ aicalls: { id: string; pipeline_instance_id: string | null } }>('ai_manager')
        .selectFrom('aicalls')
        .select('pipeline_instance_id')
        .where('id', '=', aicallId)
        .executeTakeFirst();
      return row?.pipeline_instance_id === pipelineInstance;
    }, 'the pipeline instance to be stored');
    expect((await api('GET', `/v1.0/aicalls/${aicallId}`)).status).toBe('progressing');
    // What the watchdog asks the process: the pipelines it runs.
    const listed = await rpcCall<{ instance_id: string; result: { aicall_id: string }[] }>(bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, {
      instanceId: pipelineInstance,
    });
    expect(listed).toMatchObject({ instance_id: pipelineInstance, result: [expect.objectContaining({ aicall_id: aicallId })] });
    expect(simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP'))).toBe(true);

    // The greeting (about ten seconds of speech) is still being spoken.
    const killedAt = Date.now();
    const killedAtCallTime = caller.now();
    child!.kill('SIGKILL');
    await childExited;

    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 15_000, 100);
    const endedAfterMs = Date.now() - killedAt;
    const aicall = await api('GET', `/v1.0/aicalls/${aicallId}`);
    expect(aicall.tm_end).toEqual(expect.any(String));
    const stored = (await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}`)) as { result: { role: string; content: string }[] };
    expect(stored.result.find((message) => message.role === 'notification')?.content).toContain('the voice pipeline stopped unexpectedly');
    await eventually(() => !simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg to go', 5000, 50);

    // The flow went on after ai_talk: the caller hears the talk, then the flow hangs up.
    await caller.waitForHangup(30_000);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
    const heardAfterKill = caller.heardSegments.filter((segment) => segment.startMs > killedAtCallTime);
    expect(heardAfterKill.length).toBeGreaterThan(0);
    // Detection takes at most one check interval (2 s) plus the check itself.
    expect(endedAfterMs).toBeLessThan(5000);
  }, 120_000);
});
