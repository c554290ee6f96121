import { randomUUID } from 'node:crypto';
import { appError, createDatabase, createHttpServer, createInProcessBus, createMetricsRegistry, createRpcRouter, rpcCall, silentLogger, type Bus, type Database } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { FakeCallControl } from '../testing/fake-call-control.ts';

const owner = randomUUID();
const stranger = randomUUID();
const keys: Record<string, string> = { 'key-owner': owner, 'key-stranger': stranger };

interface Started {
  id: string;
  activeflow: { id: string; flow_id: string | null; reference_type: string; reference_id: string | null };
}

/**
 * `POST /v1/conversation_messages`: ai-manager asks for the message flow of a message it stored,
 * with its own message id and, for a channel with one, the flow to run.
 */
describe('flow-manager runs message flows for ai-manager conversations', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let app: FastifyInstance;
  let flowManager: FlowManager;
  let ownerFlow: string;
  let strangerFlow: string;
  let number: string;

  const api = async (key: string, method: 'POST' | 'GET', url: string, body?: object) =>
    (await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body } : {}) })).json<Record<string, unknown>>();
  const send = (data: Record<string, unknown>) =>
    rpcCall<Started>(bus, 'flow-manager', 'POST', '/v1/conversation_messages', data).then(
      (started) => ({ ok: true as const, started }),
      (error: { reason?: string }) => ({ ok: false as const, reason: error.reason }),
    );
  const message = (overrides: Record<string, unknown> = {}) => ({
    customer_id: owner,
    conversation_id: randomUUID(),
    message_id: randomUUID(),
    source: '+15550001',
    destination: number,
    text: 'hello',
    ...overrides,
  });

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    bus = createInProcessBus();
    await bus.serve(
      'ai-manager',
      createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        const customerId = keys[(data as { key: string }).key];
        if (!customerId) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId, accesskey_id: randomUUID() };
      }).handle,
    );
    flowManager = await createFlowManager(
      { database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'conversation-rpc' },
      { callControl: new FakeCallControl() },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await flowManager.start();
    await app.ready();
    const flowBody = (tag: string) => ({ actions: [{ type: 'variable_set', option: { key: 'ran', value: `${tag}: \${voipbin.conversation_message.text}` } }, { type: 'block' }] });
    ownerFlow = (await api('key-owner', 'POST', '/v1.0/flows', flowBody('number flow'))).id as string;
    strangerFlow = (await api('key-stranger', 'POST', '/v1.0/flows', flowBody('stranger flow'))).id as string;
    number = `+4${Date.now()}`;
    await api('key-owner', 'POST', '/v1.0/numbers', { number, message_flow_id: ownerFlow });
  });

  afterAll(async () => {
    await flowManager?.stop();
    await app?.close();
    await bus?.close();
    await database?.close();
    await test?.drop();
  });

  it("runs the destination number's message flow without flow_id, with ai-manager's message id", async () => {
    const sent = message();
    const outcome = await send(sent);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.started.id).toBe(sent.message_id);
    await flowManager.runner.idle();
    const activeflow = await api('key-owner', 'GET', `/v1.0/activeflows/${outcome.started.activeflow.id}`);
    expect(activeflow).toMatchObject({
      flow_id: ownerFlow,
      reference_type: 'conversation',
      reference_id: sent.conversation_id,
      variables: expect.objectContaining({
        ran: 'number flow: hello',
        'voipbin.conversation_message.id': sent.message_id,
        'voipbin.conversation.id': sent.conversation_id,
        'voipbin.conversation_message.source': '+15550001',
      }),
    });
  });

  it('runs the given flow of the customer, and refuses a flow of another customer as missing', async () => {
    const own = await send(message({ flow_id: ownerFlow, destination: 'U-line-bot' }));
    expect(own).toMatchObject({ ok: true, started: { activeflow: { flow_id: ownerFlow, reference_type: 'conversation' } } });

    const foreign = message({ flow_id: strangerFlow });
    expect(await send(foreign)).toEqual({ ok: false, reason: 'RESOURCE_NOT_FOUND' });
    // Nothing ran for the stranger's flow.
    const list = await api('key-stranger', 'GET', '/v1.0/activeflows');
    expect(list.result).toEqual([]);
  });

  it("refuses another customer's number, a missing customer and a bad body", async () => {
    expect(await send(message({ customer_id: stranger }))).toEqual({ ok: false, reason: 'RESOURCE_NOT_FOUND' });
    const { customer_id: _omitted, ...noCustomer } = message();
    expect(await send(noCustomer)).toEqual({ ok: false, reason: 'VALIDATION_FAILED' });
    expect(await send(message({ message_id: 'not-a-uuid' }))).toEqual({ ok: false, reason: 'VALIDATION_FAILED' });
  });

  it('starts one activeflow for a message id asked twice (a retried request)', async () => {
    const sent = message();
    const first = await send(sent);
    const second = await send(sent);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.started.activeflow.id).toBe(first.started.activeflow.id);
  });
});
