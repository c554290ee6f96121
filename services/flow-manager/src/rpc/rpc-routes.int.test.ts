import { randomUUID } from 'node:crypto';
import { appError, createDatabase, createHttpServer, createInProcessBus, createMetricsRegistry, createRpcRouter, rpcCall, silentLogger, type Bus, type Database, type RpcMethod } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { FakeCallControl } from '../testing/fake-call-control.ts';

const owner = randomUUID();
const stranger = randomUUID();
const keys: Record<string, string> = { 'key-owner': owner, 'key-stranger': stranger };

/** Routes that act on no existing resource: they create one for the customer in the body, or say who serves. */
const serviceRoutes = ['GET /v1/ping', 'POST /v1/activeflows', 'POST /v1/bridges', 'POST /v1/conversation_messages'];

/**
 * flow-manager's bus routes and tenants: every route on an activeflow, its variables, a call
 * or a bridge names the customer it acts for, and another customer's resource answers
 * exactly like a missing one (404) without being read or changed. The table below must
 * cover every route the router serves, so a new route cannot skip the check.
 */
describe("flow-manager's bus routes act only on the named customer's resources", () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let app: FastifyInstance;
  let flowManager: FlowManager;
  const control = new FakeCallControl();
  /** The owner's activeflow (waiting in a block), call (with its own activeflow) and bridge. */
  let activeflow: { id: string; current_action: { id: string } };
  let call: { id: string; activeflow_id: string };
  let bridgeId: string;
  /** The owner's flow (its call flow). */
  let flowId: string;
  /** A recording of the owner's call. */
  let recordingId: string;

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    bus = createInProcessBus();
    const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      const customerId = keys[(data as { key: string }).key];
      if (!customerId) throw appError('INVALID_CREDENTIALS');
      return { customer_id: customerId, accesskey_id: randomUUID() };
    });
    await bus.serve('ai-manager', aiManager.handle);
    flowManager = await createFlowManager(
      { database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'rpc-isolation' },
      { callControl: control },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await flowManager.start();
    await app.ready();

    const api = async (method: 'POST' | 'GET', url: string, body?: object) =>
      (await app.inject({ method, url, headers: { authorization: 'Bearer key-owner' }, ...(body ? { payload: body } : {}) })).json<Record<string, unknown>>();
    activeflow = (await api('POST', '/v1.0/activeflows', { actions: [{ type: 'block' }], variables: { secret: 'owner only' } })) as typeof activeflow;
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'block' }] });
    flowId = String(flow.id);
    const number = `+1${Date.now()}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    call = (await flowManager.callEvents.incoming({ channelId: 'chan-owner', source: '+15550001', destination: number })) as typeof call;
    bridgeId = (await rpcCall<{ id: string }>(bus, 'flow-manager', 'POST', '/v1/bridges', { customer_id: owner, name: 'owner' })).id;
    await flowManager.runner.idle();
    recordingId = String((await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: call.id })).id);
  });

  afterAll(async () => {
    await flowManager?.stop();
    await app?.close();
    await bus?.close();
    await database?.close();
    await test?.drop();
  });

  /** Each route on an existing resource, as the other services call it (the owner's ids; `customer_id` added per case). */
  const requests = (): { method: RpcMethod; pattern: string; uri: string; data?: Record<string, unknown> }[] => [
    { method: 'GET', pattern: '/v1/activeflows/:id', uri: `/v1/activeflows/${activeflow.id}` },
    { method: 'POST', pattern: '/v1/activeflows/:id/service_stop', uri: `/v1/activeflows/${activeflow.id}/service_stop`, data: { service_id: randomUUID() } },
    { method: 'POST', pattern: '/v1/activeflows/:id/continue', uri: `/v1/activeflows/${activeflow.id}/continue`, data: { current_action_id: activeflow.current_action.id } },
    { method: 'POST', pattern: '/v1/activeflows/:id/stop', uri: `/v1/activeflows/${activeflow.id}/stop`, data: { reason: 'x' } },
    { method: 'POST', pattern: '/v1/activeflows/:id/add_actions', uri: `/v1/activeflows/${activeflow.id}/add_actions`, data: { actions: [{ type: 'hangup' }] } },
    { method: 'GET', pattern: '/v1/variables/:id', uri: `/v1/variables/${activeflow.id}` },
    { method: 'POST', pattern: '/v1/variables/:id/variables', uri: `/v1/variables/${activeflow.id}/variables`, data: { variables: { secret: 'changed' } } },
    { method: 'POST', pattern: '/v1/variables/:id/substitute', uri: `/v1/variables/${activeflow.id}/substitute`, data: { text: '${secret}' } },
    { method: 'GET', pattern: '/v1/calls/:id', uri: `/v1/calls/${call.id}` },
    { method: 'POST', pattern: '/v1/calls/:id/answer', uri: `/v1/calls/${call.id}/answer`, data: {} },
    { method: 'POST', pattern: '/v1/calls/:id/media_stop', uri: `/v1/calls/${call.id}/media_stop`, data: {} },
    { method: 'POST', pattern: '/v1/calls/:id/external_media', uri: `/v1/calls/${call.id}/external_media`, data: { transport: 'rtp', external_host: '127.0.0.1:4000', format: 'ulaw' } },
    { method: 'POST', pattern: '/v1/calls/:id/external_media/attach', uri: `/v1/calls/${call.id}/external_media/attach`, data: {} },
    { method: 'DELETE', pattern: '/v1/calls/:id/external_media', uri: `/v1/calls/${call.id}/external_media`, data: {} },
    { method: 'POST', pattern: '/v1/calls/:id/snoop_media', uri: `/v1/calls/${call.id}/snoop_media`, data: { direction: 'in', external_host: '127.0.0.1:4002', format: 'ulaw' } },
    // The leg FakeCallControl would have made on the owner's call.
    { method: 'DELETE', pattern: '/v1/calls/:id/snoop_media/:channelId', uri: `/v1/calls/${call.id}/snoop_media/snoop-${call.id}-rtp`, data: {} },
    { method: 'POST', pattern: '/v1/calls/:id/play', uri: `/v1/calls/${call.id}/play`, data: { stream_urls: ['tone:440'] } },
    { method: 'POST', pattern: '/v1/calls/:id/connect', uri: `/v1/calls/${call.id}/connect`, data: { destinations: [{ type: 'endpoint', target: 'PJSIP/bob' }] } },
    { method: 'POST', pattern: '/v1/calls/:id/hangup', uri: `/v1/calls/${call.id}/hangup`, data: { reason: 'normal' } },
    { method: 'POST', pattern: '/v1/bridges/:id/calls', uri: `/v1/bridges/${bridgeId}/calls`, data: { call_ids: [call.id] } },
    { method: 'DELETE', pattern: '/v1/bridges/:id/calls', uri: `/v1/bridges/${bridgeId}/calls`, data: { call_ids: [call.id] } },
    { method: 'DELETE', pattern: '/v1/bridges/:id', uri: `/v1/bridges/${bridgeId}`, data: {} },
    { method: 'GET', pattern: '/v1/flows/:id', uri: `/v1/flows/${flowId}` },
    { method: 'GET', pattern: '/v1/recordings/:id', uri: `/v1/recordings/${recordingId}` },
    { method: 'GET', pattern: '/v1/recordings/:id/audio', uri: `/v1/recordings/${recordingId}/audio?direction=in&offset_ms=0&length_ms=1000` },
  ];

  /** The request as sent for `customerId` (query on GET, body otherwise); answers the error reason or 'ok'. */
  const send = (request: ReturnType<typeof requests>[number], customerId?: string) => {
    const uri = request.method === 'GET' && customerId ? `${request.uri}${request.uri.includes('?') ? '&' : '?'}customer_id=${customerId}` : request.uri;
    const data = request.method === 'GET' ? undefined : { ...request.data, ...(customerId ? { customer_id: customerId } : {}) };
    return rpcCall(bus, 'flow-manager', request.method, uri, data).then(
      () => 'ok',
      (error: { reason?: string }) => error.reason,
    );
  };

  it('covers every route it serves', () => {
    const served = flowManager.rpcRouter.routes().map((route) => `${route.method} ${route.pattern}`);
    const covered = [...serviceRoutes, ...requests().map((request) => `${request.method} ${request.pattern}`)];
    expect(covered.sort()).toEqual(served.sort());
  });

  it("answers 404 for another customer's resource and 400 without a customer, changing nothing", async () => {
    const before = { activeflow: await flowManager.runner.idle().then(() => readActiveflow()), operations: control.operations.length };
    const outcomes: Record<string, [string | undefined, string | undefined]> = {};
    for (const request of requests()) outcomes[`${request.method} ${request.pattern}`] = [await send(request, stranger), await send(request)];
    expect(Object.values(outcomes).every(([foreign, none]) => foreign === 'RESOURCE_NOT_FOUND' && none === 'VALIDATION_FAILED'), JSON.stringify(outcomes, null, 1)).toBe(true);

    // The stranger could not add the owner's call to a bridge of its own either.
    const own = await rpcCall<{ id: string }>(bus, 'flow-manager', 'POST', '/v1/bridges', { customer_id: stranger, name: 'mine' });
    expect(await send({ method: 'POST', pattern: '', uri: `/v1/bridges/${own.id}/calls`, data: { call_ids: [call.id] } }, stranger)).toBe('RESOURCE_NOT_FOUND');

    await flowManager.runner.idle();
    expect(await readActiveflow()).toEqual(before.activeflow);
    expect(control.operations.slice(before.operations)).toEqual(['bridge_create mine']);
    const callNow = (await app.inject({ method: 'GET', url: `/v1.0/calls/${call.id}`, headers: { authorization: 'Bearer key-owner' } })).json<{ status: string }>();
    expect(callNow.status).not.toBe('hangup');
  });

  it("serves the owner's own requests", async () => {
    const byPattern = new Map(requests().map((request) => [`${request.method} ${request.pattern}`, request]));
    const ownerSends = (key: string) => send(byPattern.get(key)!, owner);
    expect(await ownerSends('GET /v1/variables/:id')).toBe('ok');
    expect(await ownerSends('POST /v1/variables/:id/variables')).toBe('ok');
    expect(await ownerSends('GET /v1/calls/:id')).toBe('ok');
    expect(await ownerSends('GET /v1/flows/:id')).toBe('ok');
    expect(await ownerSends('POST /v1/calls/:id/play')).toBe('ok');
    expect(await ownerSends('POST /v1/calls/:id/snoop_media')).toBe('ok');
    expect(await ownerSends('DELETE /v1/calls/:id/snoop_media/:channelId')).toBe('ok');
    expect(await send({ method: 'DELETE', pattern: '', uri: `/v1/calls/${call.id}/snoop_media/snoop-unknown-rtp`, data: {} }, owner)).toBe('RESOURCE_NOT_FOUND');
    expect(await ownerSends('POST /v1/bridges/:id/calls')).toBe('ok');
    expect(await ownerSends('DELETE /v1/bridges/:id')).toBe('ok');
    expect(await ownerSends('POST /v1/activeflows/:id/continue')).toBe('ok');
    expect(await ownerSends('POST /v1/calls/:id/hangup')).toBe('ok');
    // A destroyed bridge is gone for its owner too.
    expect(await ownerSends('DELETE /v1/bridges/:id')).toBe('RESOURCE_NOT_FOUND');
  });

  async function readActiveflow(): Promise<unknown> {
    return (await app.inject({ method: 'GET', url: `/v1.0/activeflows/${activeflow.id}`, headers: { authorization: 'Bearer key-owner' } })).json();
  }
});
