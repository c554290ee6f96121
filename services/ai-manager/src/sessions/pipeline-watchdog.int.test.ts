import { randomBytes, randomUUID } from 'node:crypto';
import {
  appError,
  createDatabase,
  createInProcessBus,
  createRpcRouter,
  InProcessBroker,
  OutboundPolicy,
  rpcCall,
  rpcReply,
  silentLogger,
  type Bus,
  type Database,
  type RpcRequest,
  type Subscription,
} from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AiManagerTables } from '../db/tables.ts';
import type { DomainContext } from '../domain/context.ts';
import { SecretBox } from '../domain/secrets/secret-box.ts';
import { EventPublisher } from '../events/event-publisher.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';
import { PipelineWatchdog } from './pipeline-watchdog.ts';

/** A pipeline-manager process as the bus sees it: its own queue, its pipelines, what it was asked. */
interface FakePipelineManager {
  instanceId: string;
  bus: Bus;
  pipelines: Map<string, string>;
  requests: RpcRequest[];
  /** Stops serving, as a killed process does (RabbitMQ deletes its auto-delete queue). */
  kill(): Promise<void>;
  /** Loses its queue and declares it again `afterMs` later with its pipelines still running, as across a broker restart. */
  reconnect(afterMs: number): Promise<void>;
  /** Takes requests but answers none until released (a hung process). */
  hang(): void;
  release(): void;
}

async function startFakePipelineManager(bus: Bus, instanceId: string): Promise<FakePipelineManager> {
  const pipelines = new Map<string, string>();
  const requests: RpcRequest[] = [];
  let hung: Promise<void> | undefined;
  let release = () => undefined as void;
  const router = createRpcRouter()
    .add('GET', '/v1/ping', async () => ({ service: 'pipeline-manager', instance_id: instanceId }))
    .add('POST', '/v1/pipelines', async ({ data }) => {
      const body = data as { aicall_id: string; call_id: string };
      pipelines.set(body.aicall_id, body.call_id);
      return rpcReply(201, { pipeline_id: body.aicall_id, instance_id: instanceId });
    })
    .add('GET', '/v1/pipelines', async () => ({
      instance_id: instanceId,
      result: [...pipelines].map(([id, callId]) => ({ pipeline_id: id, aicall_id: id, call_id: callId, instance_id: instanceId })),
    }))
    .add('POST', '/v1/pipelines/:id/stop', async ({ params }) => {
      const callId = pipelines.get(params.id!);
      if (!callId) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${params.id} runs here.`);
      pipelines.delete(params.id!);
      await bus.publish('pipeline-manager', { type: 'pipeline_terminated', data: { aicall_id: params.id, call_id: callId, reason: 'stopped', error: null } });
      return { stopped: true };
    })
    .add('POST', '/v1/pipelines/:id/dtmf', async ({ params }) => {
      if (!pipelines.has(params.id!)) throw appError('RESOURCE_NOT_FOUND', `No pipeline ${params.id} runs here.`);
      return rpcReply(202, {});
    });
  const serve = () =>
    bus.serve(
      'pipeline-manager',
      async (request) => {
        requests.push(request);
        await hung;
        return router.handle(request);
      },
      { instanceId },
    );
  let server: Subscription | undefined = await serve();
  return {
    instanceId,
    bus,
    pipelines,
    requests,
    async kill() {
      release();
      await server?.close();
      server = undefined;
    },
    async reconnect(afterMs) {
      await server?.close();
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      server = await serve();
    },
    hang() {
      hung = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

/** flow-manager's side: the routes a session uses, recorded; `activeflows` holds each activeflow's call. */
async function startFakeFlowManager(bus: Bus): Promise<{ requests: RpcRequest[]; activeflows: Map<string, string>; close(): Promise<void> }> {
  const requests: RpcRequest[] = [];
  const activeflows = new Map<string, string>();
  const router = createRpcRouter()
    .add('GET', '/v1/activeflows/:id', async ({ params }) => ({ id: params.id, reference_type: 'call', reference_id: activeflows.get(params.id!) ?? null }))
    .add('GET', '/v1/variables/:id', async () => ({ variables: {} }))
    .add('POST', '/v1/variables/:id/variables', async ({ data }) => data)
    .add('DELETE', '/v1/calls/:id/external_media', async () => ({ stopped: true }))
    .add('POST', '/v1/activeflows/:id/service_stop', async () => ({ ok: true }));
  const server = await bus.serve('flow-manager', async (request) => {
    requests.push(request);
    return router.handle(request);
  });
  return { requests, activeflows, close: () => server.close() };
}

/** `ai_talk` on a call: ai-manager creates the AIcall and starts a pipeline on some pipeline-manager. */
async function startCallSession(
  bus: Bus,
  flowManager: { activeflows: Map<string, string> },
  customerId: string,
  aiId: string,
): Promise<{ aicallId: string; activeflowId: string; callId: string }> {
  const activeflowId = randomUUID();
  const callId = randomUUID();
  flowManager.activeflows.set(activeflowId, callId);
  const started = await rpcCall<{ id: string; push_actions: unknown[] }>(bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
    customer_id: customerId,
    activeflow_id: activeflowId,
    assistance_type: 'ai',
    assistance_id: aiId,
    reference_type: 'call',
    reference_id: callId,
  });
  expect(started.push_actions).toEqual([{ id: started.id, type: 'block' }]);
  return { aicallId: started.id, activeflowId, callId };
}

/**
 * The pipeline watchdog with in-process buses on one broker (several "processes"): sessions
 * whose pipeline-manager instance dies, hangs or forgets the pipeline end cleanly, once, and
 * give the flow back; live ones are left alone; stop and DTMF find the pipeline's instance
 * from an ai-manager instance that never saw the session start.
 */
describe('pipeline watchdog', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let broker: InProcessBroker;
  const harnesses: Harness[] = [];
  const pipelineManagers: FakePipelineManager[] = [];
  let flowManager: Awaited<ReturnType<typeof startFakeFlowManager>>;
  let customer: { id: string; key: string };
  let aiId: string;

  // A check every 50 ms; lost after 400 ms of failed checks (10 s in production).
  const watchdog = { intervalMs: 50, probeTimeoutMs: 100, lostAfterMs: 400, stopTimeoutMs: 200 };
  const newBus = () => createInProcessBus({ broker });

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    broker = new InProcessBroker();
    flowManager = await startFakeFlowManager(newBus());
    const first = await startHarness(database, { pipelineWatchdog: watchdog }, newBus());
    harnesses.push(first);
    customer = await createTestCustomer(first);
    const ai = await call(first, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tts_type: 'local', tts_voice_id: '', tool_names: [] }) });
    expect(ai.status, JSON.stringify(ai.body)).toBe(200);
    aiId = ai.body.id;
  });

  afterEach(async () => {
    for (const pipelineManager of pipelineManagers.splice(0)) await pipelineManager.kill();
    flowManager.requests.length = 0;
  });

  afterAll(async () => {
    for (const harness of harnesses) await harness.stop().catch(() => undefined);
    await flowManager?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  async function pipelineManager(instanceId = `pm-${randomUUID().slice(0, 8)}`): Promise<FakePipelineManager> {
    const started = await startFakePipelineManager(newBus(), instanceId);
    pipelineManagers.push(started);
    return started;
  }

  const startSession = (harness: Harness) => startCallSession(harness.bus, flowManager, customer.id, aiId);

  const aicall = (harness: Harness, id: string) => call(harness, 'GET', `/v1.0/aicalls/${id}`, { key: customer.key }).then((response) => response.body);
  const messages = (harness: Harness, id: string) =>
    call(harness, 'GET', `/v1.0/aimessages?aicall_id=${id}`, { key: customer.key }).then((response) => response.body.result as { role: string; content: string }[]);
  const requestsTo = (uri: string) => flowManager.requests.filter((request) => request.uri === uri);

  it('stores the instance running the pipeline', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    const row = await database
      .forSchema<AiManagerTables>('ai_manager')
      .selectFrom('aicalls')
      .select(['pipeline_instance_id'])
      .where('id', '=', session.aicallId)
      .executeTakeFirstOrThrow();
    expect(row.pipeline_instance_id).toBe(pm.instanceId);
  });

  it('ends the session once, removes the media and gives the flow back when the instance dies, with several ai-manager instances', async () => {
    const second = await startHarness(database, { pipelineWatchdog: watchdog }, newBus());
    harnesses.push(second);
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    // Alive: left alone over several checks.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await aicall(second, session.aicallId)).status).toBe('initiating');
    expect(pm.requests.filter((request) => request.uri === '/v1/pipelines').length).toBeGreaterThan(2);

    const killedAt = Date.now();
    await pm.kill();
    await eventually(async () => (await aicall(second, session.aicallId)).status === 'terminated', 5000);
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect((await aicall(second, session.aicallId)).tm_end).not.toBeNull();
    await eventually(() => requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300)); // Both watchdogs had their chance.
    // Each request names the session's customer: flow-manager acts only on that customer's flow and call.
    expect(requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`).map((request) => request.data)).toEqual([
      { service_id: session.aicallId, actions: [], customer_id: customer.id },
    ]);
    expect(requestsTo(`/v1/calls/${session.callId}/external_media`).map((request) => [request.method, request.data])).toEqual([['DELETE', { customer_id: customer.id }]]);
    const notifications = (await messages(second, session.aicallId)).filter((message) => message.role === 'notification');
    expect(notifications).toHaveLength(1);
    expect(notifications[0]!.content).toContain('the voice pipeline stopped unexpectedly');
    await second.stop();
    harnesses.splice(harnesses.indexOf(second), 1);
  });

  it('leaves a session alone when its instance\'s queue is gone for less than the grace period, as across a broker restart', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    // The queue is missing for several checks: each of them is answered "no route".
    await pm.reconnect(250);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await aicall(harnesses[0]!, session.aicallId)).status).toBe('initiating');
    expect(await messages(harnesses[0]!, session.aicallId)).not.toContainEqual(expect.objectContaining({ role: 'notification' }));
    expect(pm.requests.some((request) => request.uri.endsWith('/stop'))).toBe(false);
    expect(requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`)).toHaveLength(0);
  });

  it('ends the session of an instance that stops answering only after the grace period, and tells the pipeline to stop', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    const hungAt = Date.now();
    pm.hang();
    await eventually(async () => (await aicall(harnesses[0]!, session.aicallId)).status === 'terminated', 5000);
    expect(Date.now() - hungAt).toBeGreaterThanOrEqual(400);
    expect(pm.requests.filter((request) => request.uri === '/v1/pipelines').length).toBeGreaterThanOrEqual(2);
    // The process may still run the pipeline: it is told to stop, for the session's customer.
    expect(pm.requests.filter((request) => request.uri === `/v1/pipelines/${session.aicallId}/stop`).map((request) => request.data)).toEqual([
      { reason: expect.stringContaining('the session ended'), customer_id: customer.id },
    ]);
    await eventually(() => requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`).length === 1);
    const notifications = (await messages(harnesses[0]!, session.aicallId)).filter((message) => message.role === 'notification');
    expect(notifications[0]!.content).toContain('did not answer');
  });

  it('ends a pipeline that ended normally without a false notification when its pipeline_terminated comes late', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    // The pipeline is gone from the list while its end is still on its way (flow-manager slow to remove the media leg, say).
    pm.pipelines.delete(session.aicallId);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await pm.bus.publish('pipeline-manager', {
      type: 'pipeline_terminated',
      data: { aicall_id: session.aicallId, call_id: session.callId, reason: 'stop_service', error: null },
    });
    await eventually(async () => (await aicall(harnesses[0]!, session.aicallId)).status === 'terminated', 5000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // Past the grace period.
    expect(await messages(harnesses[0]!, session.aicallId)).not.toContainEqual(expect.objectContaining({ role: 'notification' }));
    expect(requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`)).toHaveLength(1);
  });

  it('ends the session when its live instance no longer knows the pipeline', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    pm.pipelines.delete(session.aicallId); // Restarted under the same instance id, say.
    await eventually(async () => (await aicall(harnesses[0]!, session.aicallId)).status === 'terminated', 5000);
    const notifications = (await messages(harnesses[0]!, session.aicallId)).filter((message) => message.role === 'notification');
    expect(notifications[0]!.content).toContain('no longer runs the pipeline');
    expect(requestsTo(`/v1/activeflows/${session.activeflowId}/service_stop`)).toHaveLength(1);
  });

  it('reaches the pipeline for DTMF and stop from an ai-manager instance started after the session', async () => {
    const pm = await pipelineManager();
    const session = await startSession(harnesses[0]!);
    // The instance that started the session goes away; a new one takes over.
    const first = harnesses.shift()!;
    await first.stop();
    const next = await startHarness(database, { pipelineWatchdog: watchdog }, newBus());
    harnesses.unshift(next);

    await next.bus.publish('flow-manager', { type: 'call_dtmf_received', data: { call_id: session.callId, customer_id: customer.id, digit: '5' } });
    await eventually(() => pm.requests.some((request) => request.uri === `/v1/pipelines/${session.aicallId}/dtmf`));

    const terminated = await call(next, 'POST', `/v1.0/aicalls/${session.aicallId}/terminate`, { key: customer.key });
    expect(terminated.status).toBe(200);
    expect(pm.requests.some((request) => request.uri === `/v1/pipelines/${session.aicallId}/stop`)).toBe(true);
    await eventually(() => pm.pipelines.size === 0);
    expect((await aicall(next, session.aicallId)).status).toBe('terminated');
    // A normal end is not taken for a lost pipeline.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await messages(next, session.aicallId)).some((message) => message.role === 'notification')).toBe(false);
  });
});

describe('pipeline watchdogs of two ai-manager instances checking at the same moment', () => {
  it('end a lost session exactly once', async () => {
    const testDatabase = await createTestPgliteDatabase();
    const database = await createDatabase(testDatabase.options);
    const broker = new InProcessBroker();
    const flowManager = await startFakeFlowManager(createInProcessBus({ broker }));
    // The service's own watchdog is off: this test drives two of them round by round.
    const harness = await startHarness(database, { pipelineWatchdog: { intervalMs: 0 } }, createInProcessBus({ broker }));
    try {
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tts_type: 'local', tts_voice_id: '', tool_names: [] }) });
      const pm = await startFakePipelineManager(createInProcessBus({ broker }), 'pm-race');
      const session = await startCallSession(harness.bus, flowManager, customer.id, ai.body.id);
      const watchdogs = [0, 1].map(() => {
        const bus = createInProcessBus({ broker });
        const domain: DomainContext = {
          db: database.forSchema<AiManagerTables>('ai_manager'),
          events: new EventPublisher(bus, 'ai-manager', 'ai_manager', silentLogger()),
          secrets: SecretBox.fromEncodedKey(randomBytes(32).toString('base64')),
          logger: silentLogger(),
          outbound: new OutboundPolicy(),
        };
        return new PipelineWatchdog({ domain, bus, logger: silentLogger(), serviceName: 'ai-manager', probeTimeoutMs: 200, lostAfterMs: 0 });
      });
      await Promise.all(watchdogs.map((watchdog) => watchdog.check()));
      expect((await call(harness, 'GET', `/v1.0/aicalls/${session.aicallId}`, { key: customer.key })).body.status).toBe('initiating');

      await pm.kill();
      // One failed check is no evidence; the second in a row is (no grace period here).
      await Promise.all(watchdogs.map((watchdog) => watchdog.check()));
      expect((await call(harness, 'GET', `/v1.0/aicalls/${session.aicallId}`, { key: customer.key })).body.status).toBe('initiating');
      await Promise.all(watchdogs.map((watchdog) => watchdog.check()));
      const aicall = (await call(harness, 'GET', `/v1.0/aicalls/${session.aicallId}`, { key: customer.key })).body;
      expect(aicall).toMatchObject({ status: 'terminated', tm_end: expect.any(String) });
      const stored = (await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${session.aicallId}`, { key: customer.key })).body.result as { role: string }[];
      expect(stored.filter((message) => message.role === 'notification')).toHaveLength(1);
      expect(flowManager.requests.filter((request) => request.uri.endsWith('/service_stop'))).toHaveLength(1);
      expect(flowManager.requests.filter((request) => request.uri.endsWith('/external_media'))).toHaveLength(1);
    } finally {
      await harness.stop();
      await flowManager.close();
      await database.close();
      await testDatabase.drop();
    }
  });
});
