import { randomUUID } from 'node:crypto';
import { appError, createDatabase, createInProcessBus, createRpcRouter, InProcessBroker, type Database, type RpcRequest, type Subscription } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';

/**
 * flow-manager's side of a session's end. `failServiceStop` answers the next hand-backs with a
 * 503 (flow-manager up, its database away); `goAway` stops serving altogether (no consumer,
 * as while it restarts) until `comeBack`.
 */
async function startFlowManager(broker: InProcessBroker) {
  const bus = createInProcessBus({ broker });
  const handBacks: { uri: string; data: unknown; answered: number }[] = [];
  const gone = new Set<string>();
  let failures = 0;
  const router = createRpcRouter()
    .add('GET', '/v1/activeflows/:id', async ({ params }) => ({ id: params.id, reference_type: 'call', reference_id: null }))
    .add('POST', '/v1/activeflows/:id/service_stop', async ({ params }) => {
      if (gone.has(params.id!)) throw appError('RESOURCE_NOT_FOUND', 'No activeflow.');
      if (failures > 0) {
        failures--;
        throw appError('SERVICE_UNAVAILABLE', 'The database is away (test).');
      }
      return { id: params.id, status: 'running' };
    });
  const serve = () =>
    bus.serve('flow-manager', async (request: RpcRequest) => {
      const reply = await router.handle(request);
      if (request.uri.endsWith('/service_stop')) handBacks.push({ uri: request.uri, data: request.data, answered: reply.status_code });
      return reply;
    });
  let server: Subscription | undefined = await serve();
  return {
    handBacks,
    gone,
    failServiceStop: (times: number) => void (failures = times),
    goAway: async () => {
      await server?.close();
      server = undefined;
    },
    comeBack: async () => void (server = await serve()),
    close: () => server?.close(),
  };
}

describe('giving the flow back when a session ends', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let broker: InProcessBroker;
  let harness: Harness;
  let flowManager: Awaited<ReturnType<typeof startFlowManager>>;
  let customer: { id: string; key: string };
  let aiId: string;

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    broker = new InProcessBroker();
    flowManager = await startFlowManager(broker);
    // Retried every 50 to 200 ms for 1.5 s here; 0.5 s to 15 s for 10 minutes by default.
    const giveBack = { firstRetryDelayMs: 50, maxRetryDelayMs: 200, retryForMs: 1500 };
    harness = await startHarness(database, { giveBack, pipelineWatchdog: { intervalMs: 0 } }, createInProcessBus({ broker }));
    customer = await createTestCustomer(harness);
    aiId = (await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() })).body.id;
  });

  afterAll(async () => {
    await harness?.stop();
    await flowManager?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  /** An AIcall bound to an activeflow (flow-manager checks the activeflow is the customer's). */
  async function boundSession(activeflowId = randomUUID()): Promise<{ aicallId: string; activeflowId: string }> {
    const created = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: aiId, activeflow_id: activeflowId } });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return { aicallId: created.body.id as string, activeflowId };
  }

  /** The session's pipeline ends with stop_service: ai-manager ends the AIcall and gives the flow back. */
  const pipelineEnded = (aicallId: string) =>
    harness.bus.publish('pipeline-manager', { type: 'pipeline_terminated', data: { aicall_id: aicallId, call_id: randomUUID(), reason: 'stop_service', error: null } });

  async function sessionEnded(): Promise<{ aicallId: string; activeflowId: string }> {
    const session = await boundSession();
    await pipelineEnded(session.aicallId);
    return session;
  }

  const statusOf = async (aicallId: string) => (await call(harness, 'GET', `/v1.0/aicalls/${aicallId}`, { key: customer.key })).body.status as string;
  const handBacksOf = (activeflowId: string) => flowManager.handBacks.filter((entry) => entry.uri === `/v1/activeflows/${activeflowId}/service_stop`);
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = ((await harness.metrics.getMetricsAsJSON()).find((entry) => entry.name === name)?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
    return values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
  };

  it('retries service_stop while flow-manager fails, without holding up the end of the session, until it takes it', async () => {
    flowManager.failServiceStop(3);
    const { aicallId, activeflowId } = await sessionEnded();
    // The session has ended and the hand-back waits in the background.
    await eventually(async () => (await statusOf(aicallId)) === 'terminated' && (await metric('ai_manager_flow_give_backs_pending')) === 1);
    await eventually(() => handBacksOf(activeflowId).some((entry) => entry.answered === 200), 3000);
    expect(handBacksOf(activeflowId).map((entry) => entry.answered)).toEqual([503, 503, 503, 200]);
    expect(new Set(handBacksOf(activeflowId).map((entry) => JSON.stringify(entry.data))).size).toBe(1);
    expect(handBacksOf(activeflowId)[0]!.data).toMatchObject({ service_id: aicallId, actions: [], customer_id: customer.id });
    expect(await metric('ai_manager_flow_give_backs_pending')).toBe(0);
  });

  it('gives the flow back once flow-manager serves again after being away', async () => {
    const { aicallId, activeflowId } = await boundSession();
    await flowManager.goAway();
    try {
      await pipelineEnded(aicallId);
      await eventually(async () => (await statusOf(aicallId)) === 'terminated');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(handBacksOf(activeflowId)).toEqual([]);
    } finally {
      await flowManager.comeBack();
    }
    await eventually(() => handBacksOf(activeflowId).length === 1, 3000);
    expect(handBacksOf(activeflowId)[0]!.answered).toBe(200);
  });

  it('stops at once when the activeflow is gone (404)', async () => {
    const before = await metric('ai_manager_flow_give_backs_failed_total');
    const { aicallId, activeflowId } = await boundSession();
    flowManager.gone.add(activeflowId);
    await pipelineEnded(aicallId);
    await eventually(() => handBacksOf(activeflowId).length === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(handBacksOf(activeflowId).map((entry) => entry.answered)).toEqual([404]);
    expect(await metric('ai_manager_flow_give_backs_pending')).toBe(0);
    expect(await metric('ai_manager_flow_give_backs_failed_total')).toBe(before);
  });

  it('gives up after retryForMs and counts the hand-back as failed', async () => {
    flowManager.failServiceStop(1000);
    const { activeflowId } = await sessionEnded();
    await eventually(async () => (await metric('ai_manager_flow_give_backs_failed_total', { reason: 'gave_up' })) === 1, 4000);
    const attempts = handBacksOf(activeflowId).length;
    expect(attempts).toBeGreaterThan(5);
    expect(await metric('ai_manager_flow_give_backs_pending')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(handBacksOf(activeflowId)).toHaveLength(attempts);
    flowManager.failServiceStop(0);
  });
});
