import { randomUUID } from 'node:crypto';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { appError, createHttpServer, createMetricsRegistry, createRpcRouter, silentLogger, type EventEnvelope } from '@avp/shared';
import { eventually, freePort } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from './app.ts';
import type { FlowManagerTables } from './db/tables.ts';
import { embeddedTelephonyStack, type TelephonyStack } from './testing/telephony-suite.ts';

const customers: Record<string, string> = { [`key-${randomUUID()}`]: randomUUID(), [`key-${randomUUID()}`]: randomUUID() };
const [key, otherKey] = Object.keys(customers) as [string, string];

interface CallBody {
  id: string;
  channel_id: string;
  activeflow_id: string | null;
  direction: string;
  status: string;
  hangup_by: string;
  hangup_reason: string;
  source: string;
  destination: string;
}

/**
 * Outgoing calls (`POST /v1.0/calls`) through the Asterisk simulator on PGlite and the
 * in-process bus: the statuses, the hang-up reasons of calls that were not answered, the flow of
 * one that was, and what another customer sees.
 */
describe('outgoing calls through the Asterisk simulator', () => {
  let stack: TelephonyStack;
  let simulator: AsteriskSimulator;
  let flowManager: FlowManager;
  let app: FastifyInstance;
  const ariApp = `avp-${randomUUID().slice(0, 8)}`;
  const events: EventEnvelope[] = [];

  beforeAll(async () => {
    stack = await embeddedTelephonyStack();
    simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
    const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      const customerId = customers[(data as { key: string }).key];
      if (!customerId) throw appError('INVALID_CREDENTIALS');
      return { customer_id: customerId };
    });
    // ai-manager's team directory: no team is anyone's here.
    aiManager.add('GET', '/v1/teams/:id', async () => {
      throw appError('RESOURCE_NOT_FOUND', 'No team with this id.');
    });
    await stack.bus.serve('ai-manager', aiManager.handle, { shared: true });
    await stack.bus.subscribe('flow-manager', ['#'], async (event) => void events.push(event), { queue: `outgoing-calls-${ariApp}` });
    await startFlowManager();
  }, 60_000);

  afterAll(async () => {
    await stopFlowManager();
    await simulator?.close();
    await stack?.cleanup();
  });

  async function startFlowManager(): Promise<void> {
    const port = await freePort();
    flowManager = await createFlowManager(
      { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `outgoing-${port}` },
      {
        ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: ariApp }, mediaBaseUrl: `http://127.0.0.1:${port}` },
        // The tests poll the API; 0 turns the per-key limit off.
        rateLimit: { perSecond: 0, burst: 0 },
      },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await app.listen({ port, host: '127.0.0.1' });
    await flowManager.start();
    await simulator.waitForApp(ariApp);
  }

  /** flow-manager goes away with its memory; the simulated Asterisk keeps what it had. */
  async function stopFlowManager(): Promise<void> {
    await flowManager?.stop();
    await app?.close();
  }

  async function api(method: 'GET' | 'POST', url: string, body?: unknown, as = key): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${as}` }, ...(body ? { payload: body as object } : {}) });
    return { status: response.statusCode, body: response.json() as Record<string, unknown> };
  }

  async function call(id: string): Promise<CallBody> {
    return (await api('GET', `/v1.0/calls/${id}`)).body as unknown as CallBody;
  }

  async function ended(id: string): Promise<CallBody> {
    await eventually(async () => (await call(id)).status === 'hangup', `call ${id} to end`, 15_000);
    return call(id);
  }

  /** The call's events once its `call_hangup` has arrived (the bus delivers them a little later). */
  async function callEvents(id: string): Promise<string[]> {
    const ofCall = () => events.filter((event) => event.type.startsWith('call_') && (event.data as { id?: string }).id === id).map((event) => event.type);
    await eventually(() => ofCall().includes('call_hangup'), `call ${id}'s call_hangup event`);
    return ofCall();
  }

  async function activeflowsOf(callId: string): Promise<Record<string, unknown>[]> {
    const list = (await api('GET', '/v1.0/activeflows?page_size=100')).body.result as Record<string, unknown>[];
    return list.filter((activeflow) => activeflow.reference_id === callId);
  }

  /** Whether the call's flow is still stored (it goes once the call is answered or has ended). */
  async function flowStored(callId: string): Promise<boolean> {
    const db = stack.database.forSchema<FlowManagerTables>('flow_manager');
    return (await db.selectFrom('outgoing_flows').select('call_id').where('call_id', '=', callId).executeTakeFirst()) !== undefined;
  }

  const source = { type: 'tel', target: '+15550100000' };
  const number = () => `+1555${Math.floor(Math.random() * 1e7)}`;

  it('dials, rings, runs the flow once answered and hangs up normal', async () => {
    const target = number();
    simulator.scriptOutbound(target, { kind: 'answer', afterMs: 300 });
    const flow = (await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Hello ${name}, this is a call from the platform.' } }, { type: 'hangup' }] })).body;
    const calledParty = simulator.waitForOutboundCall(target, 10_000);
    const created = await api('POST', '/v1.0/calls', { source, destinations: [{ type: 'tel', target }], flow_id: flow.id, variables: { name: 'Ada' } });
    expect(created.status).toBe(200);
    const [made] = created.body.calls as CallBody[];
    expect(made).toMatchObject({ direction: 'outgoing', status: 'dialing', source: '+15550100000', destination: target, activeflow_id: null, hangup_reason: '' });

    const party = await calledParty;
    await party.waitForAnswer(5000);
    await party.waitForAudio(10_000);
    const done = await ended(made!.id);
    expect(done).toMatchObject({ status: 'hangup', hangup_by: 'local', hangup_reason: 'normal' });
    expect(party.ended).toBe(true);
    expect(await callEvents(made!.id)).toEqual(['call_created', 'call_ringing', 'call_progressing', 'call_hangup']);

    await eventually(async () => (await activeflowsOf(made!.id))[0]?.status === 'ended', 'the activeflow to end');
    const [activeflow] = await activeflowsOf(made!.id);
    expect(done.activeflow_id).toBe(activeflow!.id);
    expect(activeflow).toMatchObject({ reference_type: 'call', flow_id: flow.id, status: 'ended' });
    expect(activeflow!.variables).toMatchObject({
      name: 'Ada',
      'voipbin.call.id': made!.id,
      'voipbin.call.direction': 'outgoing',
      'voipbin.call.source': '+15550100000',
      'voipbin.call.destination': target,
    });
  }, 30_000);

  it('ends unanswered calls busy, noanswer and failed, with no flow run; one call per destination', async () => {
    const [busy, silent, rejecting] = [number(), number(), number()];
    simulator.scriptOutbound(busy, { kind: 'busy', afterMs: 200 });
    simulator.scriptOutbound(silent, { kind: 'ring' });
    simulator.scriptOutbound(rejecting, { kind: 'reject', afterMs: 100, cause: 21 });
    const created = await api('POST', '/v1.0/calls', {
      source,
      destinations: [busy, silent, rejecting].map((target) => ({ type: 'tel', target })),
      actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Nobody should hear this.' } }],
      timeout: 1,
    });
    expect(created.status).toBe(200);
    const calls = created.body.calls as CallBody[];
    expect(calls.map((entry) => entry.destination)).toEqual([busy, silent, rejecting]);
    const reasons = await Promise.all(calls.map(async (entry) => (await ended(entry.id)).hangup_reason));
    expect(reasons).toEqual(['busy', 'noanswer', 'failed']);
    for (const entry of calls) {
      await eventually(async () => !(await flowStored(entry.id)), "the unanswered call's flow to go");
      expect(await call(entry.id)).toMatchObject({ hangup_by: 'remote', activeflow_id: null });
      expect(await activeflowsOf(entry.id)).toEqual([]);
      expect(await callEvents(entry.id)).toEqual(['call_created', 'call_ringing', 'call_hangup']);
    }
    expect(simulator.channels().filter((channel) => calls.some((entry) => entry.channel_id === channel.id))).toEqual([]);
  }, 30_000);

  it('answers a call Asterisk refuses to originate as failed at once', async () => {
    const created = await api('POST', '/v1.0/calls', { source, destinations: [{ type: 'endpoint', target: 'no-technology' }], actions: [{ type: 'answer' }] });
    expect(created.status).toBe(200);
    const [made] = created.body.calls as CallBody[];
    expect(made).toMatchObject({ status: 'hangup', hangup_by: 'local', hangup_reason: 'failed', activeflow_id: null });
    expect(await callEvents(made!.id)).toEqual(['call_created', 'call_hangup']);
  });

  it('cancels a ringing call hung up over the API; another customer can neither see nor hang it up', async () => {
    const target = number();
    simulator.scriptOutbound(target, { kind: 'ring' });
    const created = await api('POST', '/v1.0/calls', { source, destinations: [{ type: 'endpoint', target: `PJSIP/${target}` }], actions: [{ type: 'answer' }] });
    const [made] = created.body.calls as CallBody[];
    await eventually(async () => (await call(made!.id)).status === 'ringing', 'the call to ring');

    expect((await api('GET', `/v1.0/calls/${made!.id}`, undefined, otherKey)).status).toBe(404);
    expect((await api('POST', `/v1.0/calls/${made!.id}/hangup`, undefined, otherKey)).status).toBe(404);
    expect(((await api('GET', '/v1.0/calls', undefined, otherKey)).body.result as unknown[]).length).toBe(0);
    expect((await call(made!.id)).status).toBe('ringing');

    const hungUp = await api('POST', `/v1.0/calls/${made!.id}/hangup`);
    expect(hungUp.body).toMatchObject({ status: 'hangup', hangup_by: 'local', hangup_reason: 'cancel' });
    await eventually(() => !simulator.channels().some((channel) => channel.id === made!.channel_id), 'the channel to be gone');
    expect(await activeflowsOf(made!.id)).toEqual([]);
  }, 30_000);

  it('refuses bad requests and flows that are not the customer\'s before dialling anything', async () => {
    const theirFlow = (await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }] }, otherKey)).body;
    const before = ((await api('GET', '/v1.0/calls?page_size=100')).body.result as unknown[]).length;
    const destinations = [{ type: 'tel', target: number() }];
    expect((await api('POST', '/v1.0/calls', { source, destinations, flow_id: theirFlow.id })).status).toBe(404);
    expect((await api('POST', '/v1.0/calls', { source, destinations })).status).toBe(400);
    expect((await api('POST', '/v1.0/calls', { source, destinations, actions: [{ type: 'answer' }], timeout: 301 })).status).toBe(400);
    expect((await api('POST', '/v1.0/calls', { source, destinations: [], actions: [{ type: 'answer' }] })).status).toBe(400);
    expect((await api('POST', '/v1.0/calls', { source, destinations, actions: [{ type: 'talk', option: {} }] })).status).toBe(400);
    expect((await api('POST', '/v1.0/calls', { source, destinations, actions: [{ type: 'ai_talk', option: { assistance_type: 'team', assistance_id: randomUUID() } }] })).status).toBe(400);
    expect(((await api('GET', '/v1.0/calls?page_size=100')).body.result as unknown[]).length).toBe(before);
  }, 30_000);

  it('keeps a ringing call over a restart: answered afterwards it runs its flow; an unrecorded call- channel is removed', async () => {
    const target = number();
    simulator.scriptOutbound(target, { kind: 'ring' });
    const calledParty = simulator.waitForOutboundCall(target);
    const actions = [{ type: 'answer' }, { type: 'talk', option: { text: 'Heard after the restart, ${name}.' } }, { type: 'hangup' }];
    const created = await api('POST', '/v1.0/calls', { source, destinations: [{ type: 'tel', target }], actions, variables: { name: 'Ada' } });
    const [made] = created.body.calls as CallBody[];
    const party = await calledParty;
    await eventually(async () => (await call(made!.id)).status === 'ringing', 'the call to ring');
    expect(await flowStored(made!.id)).toBe(true);

    await stopFlowManager();
    // A `call-` channel no call record names, as a process that died between its originate and its record would leave.
    simulator.scriptOutbound('orphan', { kind: 'ring' });
    const orphan = await fetch(`${simulator.url}/ari/channels?endpoint=PJSIP/orphan&app=${ariApp}&channelId=call-${randomUUID()}&timeout=60`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('asterisk:secret').toString('base64')}` },
    });
    const orphanId = ((await orphan.json()) as { id: string }).id;
    await startFlowManager();
    await eventually(() => !simulator.channels().some((channel) => channel.id === orphanId), 'the unrecorded call- channel to be hung up', 10_000);
    expect((await call(made!.id)).status).toBe('ringing');

    // The new process finds the call's flow in the database: answered, the flow runs.
    party.answer();
    await party.waitForAudio(10_000); // the talk, spoken
    const done = await ended(made!.id);
    expect(done).toMatchObject({ hangup_by: 'local', hangup_reason: 'normal', activeflow_id: expect.any(String) });
    await eventually(async () => (await activeflowsOf(made!.id))[0]?.status === 'ended', 'the activeflow to end');
    const [activeflow] = await activeflowsOf(made!.id);
    expect(activeflow).toMatchObject({ id: done.activeflow_id, status: 'ended', end_reason: 'hangup action' });
    expect(activeflow!.variables).toMatchObject({ name: 'Ada', 'voipbin.call.id': made!.id });
    expect(await flowStored(made!.id)).toBe(false);
    await eventually(() => !simulator.channels().some((channel) => channel.id === made!.channel_id), 'the call\'s channel to be gone');
  }, 30_000);
});
