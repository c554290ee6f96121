import { randomUUID } from 'node:crypto';
import {
  appError,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  createRpcRouter,
  rpcCall,
  silentLogger,
  type Bus,
  type Database,
  type EventEnvelope,
} from '@avp/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { FakeCallControl } from './fake-call-control.ts';

interface OpenapiSchema {
  properties?: Record<string, unknown>;
  required?: string[];
}

interface OpenapiOperation {
  tags?: string[];
  summary?: string;
  security?: unknown;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: { 'application/json': { schema: OpenapiSchema } } };
  responses: Record<string, { content: { 'application/json': { schema: OpenapiSchema } } } | undefined>;
}

/** The database a suite run uses and how to dispose of it. */
export interface SuiteDatabase {
  database: Database;
  cleanup(): Promise<void>;
}

const keys: Record<string, string> = { 'key-alice': randomUUID(), 'key-bob': randomUUID() };

/**
 * flow-manager's public API and RPC routes end to end over HTTP and the bus, with a double
 * of ai-manager (key checks and `ai_talk`'s service start) on the bus. Run once per database.
 */
export function describeFlowManagerApi(name: string, open: () => Promise<SuiteDatabase | undefined>): void {
  describe(name, () => {
    let suite: SuiteDatabase | undefined;
    let app: FastifyInstance;
    let bus: Bus;
    let flowManager: FlowManager;
    let calls: FakeCallControl;
    const events: EventEnvelope[] = [];
    const aiStarts: unknown[] = [];
    const aicallId = randomUUID();

    beforeAll(async () => {
      suite = await open();
      if (!suite) return;
      bus = createInProcessBus();
      const aiManager = createRpcRouter()
        // ai-manager's AI directory, asked when a flow naming an AI is saved: every AI is the customer's here.
        .add('GET', '/v1/ais/:id', async ({ params }) => ({ id: params.id }))
        .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
          const customerId = keys[(data as { key: string }).key];
          if (!customerId) throw appError('INVALID_CREDENTIALS');
          return { customer_id: customerId, accesskey_id: randomUUID() };
        })
        .add('POST', '/v1/services/type/aicall', async ({ data }) => {
          aiStarts.push(data);
          return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
        });
      await bus.serve('ai-manager', aiManager.handle);
      await bus.subscribe('flow-manager', ['#'], async (event) => void events.push(event), { queue: 'suite-events' });
      calls = new FakeCallControl();
      flowManager = await createFlowManager(
        { database: suite.database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'suite' },
        { callControl: calls },
      );
      app = createHttpServer({ logger: silentLogger() });
      await flowManager.registerRoutes(app);
      await flowManager.start();
      await app.ready();
    });

    afterAll(async () => {
      if (!suite) return;
      await flowManager.stop();
      await app.close();
      await bus.close();
      await suite.cleanup();
    });

    async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, key = 'key-alice') {
      const response = await app.inject({
        method,
        url,
        headers: key ? { authorization: `Bearer ${key}` } : {},
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: response.statusCode, body: response.json() as Record<string, unknown> & { error?: { reason: string; message: string } } };
    }

    it('requires a valid key', async (context) => {
      if (!suite) return context.skip();
      expect((await call('GET', '/v1.0/flows', undefined, '')).body.error?.reason).toBe('MISSING_CREDENTIALS');
      expect((await call('GET', '/v1.0/flows', undefined, 'key-mallory')).status).toBe(401);
      const byQuery = await app.inject({ method: 'GET', url: '/v1.0/flows?accesskey=key-alice' });
      expect(byQuery.statusCode).toBe(200);
    });

    it('serves an OpenAPI document of every public route, and its UI, without a key', async (context) => {
      if (!suite) return context.skip();
      const raw = await app.inject({ method: 'GET', url: '/v1.0/docs/flow-manager/json' });
      expect(raw.statusCode).toBe(200);
      const document = raw.json() as { openapi: string; paths: Record<string, Record<string, OpenapiOperation>>; components: { securitySchemes: object } };
      expect(document.openapi).toMatch(/^3\./);
      const routes: Record<string, string[]> = {
        '/v1.0/flows': ['get', 'post'],
        '/v1.0/flows/{id}': ['delete', 'get', 'put'],
        '/v1.0/numbers': ['get', 'post'],
        '/v1.0/numbers/{id}': ['delete', 'get', 'put'],
        '/v1.0/activeflows': ['get', 'post'],
        '/v1.0/activeflows/{id}': ['get'],
        '/v1.0/activeflows/{id}/stop': ['post'],
        '/v1.0/calls': ['get', 'post'],
        '/v1.0/calls/{id}': ['get'],
        '/v1.0/calls/{id}/hangup': ['post'],
        '/v1.0/calls/{id}/external-media': ['delete', 'get', 'post'],
        '/v1.0/conversation_messages': ['post'],
        '/v1.0/recordings': ['get', 'post'],
        '/v1.0/recordings/{id}': ['delete', 'get'],
        '/v1.0/recordings/{id}/stop': ['post'],
        '/v1.0/recordings/{id}/file': ['get'],
      };
      expect(Object.keys(document.paths).sort()).toEqual(Object.keys(routes).sort());
      for (const [path, methods] of Object.entries(routes)) {
        expect(Object.keys(document.paths[path]!).sort(), path).toEqual(methods);
        for (const method of methods) {
          const operation = document.paths[path]![method]!;
          expect(operation.tags?.length, `${method} ${path}`).toBe(1);
          expect(operation.summary, `${method} ${path}`).toBeTruthy();
          expect(operation.security, `${method} ${path}`).toEqual([{ bearerAccessKey: [] }, { accessKeyQuery: [] }, { tokenQuery: [] }]);
          const success = operation.responses['200'] ?? operation.responses['202'];
          // A recording's file is a WAV, not JSON.
          if (!path.endsWith('/file')) expect(success?.content['application/json'].schema.properties, `${method} ${path}`).toBeDefined();
          const error = operation.responses['4XX'] ?? operation.responses['4xx'];
          const errorBody = error?.content['application/json'].schema.properties?.error as { properties: object } | undefined;
          expect(Object.keys(errorBody?.properties ?? {}), `${method} ${path}`).toEqual(expect.arrayContaining(['status', 'reason', 'message', 'request_id']));
          if (path.includes('{id}')) expect(operation.parameters?.some((parameter) => parameter.in === 'path' && parameter.name === 'id')).toBe(true);
        }
      }
      expect(Object.keys(document.components.securitySchemes)).toEqual(['bearerAccessKey', 'accessKeyQuery', 'tokenQuery']);

      const createFlow = document.paths['/v1.0/flows']!.post!;
      const flowBody = createFlow.requestBody!.content['application/json'].schema;
      expect(Object.keys(flowBody.properties!)).toEqual(['name', 'detail', 'actions', 'on_complete_flow_id']);
      const actionItem = (flowBody.properties!.actions as { items: { properties: { type: { enum: string[] } } } }).items;
      expect(actionItem.properties.type.enum).toEqual(expect.arrayContaining(['answer', 'talk', 'connect', 'ai_talk']));
      const flowResponse = createFlow.responses['200']!.content['application/json'].schema;
      expect(Object.keys(flowResponse.properties!)).toEqual(expect.arrayContaining(['id', 'customer_id', 'type', 'actions', 'tm_create', 'tm_delete']));
      expect(document.paths['/v1.0/numbers']!.post!.requestBody!.content['application/json'].schema.required).toEqual(['number']);
      expect(document.paths['/v1.0/flows']!.get!.parameters!.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['page_size', 'page_token']));
      expect(document.paths['/v1.0/conversation_messages']!.post!.responses['202']!.content['application/json'].schema.properties).toHaveProperty('activeflow');

      const page = await app.inject({ method: 'GET', url: '/v1.0/docs/flow-manager/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
    });

    it('creates, reads, lists, replaces and deletes flows', async (context) => {
      if (!suite) return context.skip();
      const created = await call('POST', '/v1.0/flows', { name: 'main', actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'hi' } }] });
      expect(created.status).toBe(200);
      const id = created.body.id as string;
      expect(created.body).toMatchObject({ type: 'flow', name: 'main', actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'hi', language: 'en-US' } }] });
      expect((await call('GET', `/v1.0/flows/${id}`)).body.id).toBe(id);
      const replaced = await call('PUT', `/v1.0/flows/${id}`, { name: 'renamed', actions: [{ type: 'hangup' }] });
      expect(replaced.body).toMatchObject({ name: 'renamed', actions: [{ type: 'hangup', option: { reason: 'normal' } }] });
      for (let i = 0; i < 3; i++) await call('POST', '/v1.0/flows', { name: `extra-${i}` });
      const page = await call('GET', '/v1.0/flows?page_size=2');
      expect((page.body.result as unknown[]).length).toBe(2);
      expect(page.body.next_page_token).not.toBe('');
      const next = await call('GET', `/v1.0/flows?page_size=2&page_token=${encodeURIComponent(String(page.body.next_page_token))}`);
      expect((next.body.result as unknown[]).length).toBeGreaterThan(0);
      expect((await call('DELETE', `/v1.0/flows/${id}`)).body.tm_delete).not.toBeNull();
      expect((await call('GET', `/v1.0/flows/${id}`)).status).toBe(404);
      const all = await call('GET', '/v1.0/flows?page_size=100');
      expect((all.body.result as { id: string }[]).some((flow) => flow.id === id)).toBe(false);
    });

    it('rejects a flow with a bad action, naming it', async (context) => {
      if (!suite) return context.skip();
      const bad = await call('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'connect', option: { destinations: [] } }] });
      expect(bad.status).toBe(400);
      expect(bad.body.error?.message).toMatch(/actions\[1\] \(connect\): option.destinations/);
      expect((await call('POST', '/v1.0/flows', { actions: 'nope' })).status).toBe(400);
      expect((await call('GET', '/v1.0/flows/not-a-uuid')).body.error?.reason).toBe('INVALID_ID');
    });

    it('checks requests against the documented schemas with the catalog errors', async (context) => {
      if (!suite) return context.skip();
      // No body is an empty object: defaults for a flow, the missing field named for a number.
      expect((await call('POST', '/v1.0/flows')).body).toMatchObject({ name: '', actions: [] });
      const noNumber = await call('POST', '/v1.0/numbers');
      expect(noNumber.status).toBe(400);
      expect(noNumber.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED', message: expect.stringMatching(/^number: /) });
      const extra = await call('POST', '/v1.0/flows', { name: 5, extra: true });
      expect(extra.body.error).toMatchObject({ reason: 'VALIDATION_FAILED', message: expect.stringMatching(/^name: .*; \(body\): Unrecognized key: "extra"$/) });
      // A malformed path id is INVALID_ID before the body is looked at.
      expect((await call('PUT', '/v1.0/flows/not-a-uuid', { name: 5 })).body.error?.reason).toBe('INVALID_ID');
      const upper = (await call('POST', '/v1.0/flows', { name: 'upper' })).body.id as string;
      expect((await call('GET', `/v1.0/flows/${upper.toUpperCase()}`)).body.id).toBe(upper);
      const badPage = await call('GET', '/v1.0/calls?page_size=many');
      expect(badPage.body.error).toMatchObject({ reason: 'VALIDATION_FAILED', message: expect.stringMatching(/^page_size: /) });
      const badVariables = await call('POST', '/v1.0/activeflows', { actions: [{ type: 'block' }], variables: { a: 1 } });
      expect(badVariables.body.error?.message).toMatch(/^variables\.a: /);
    });

    it('hides one customer\'s resources from another', async (context) => {
      if (!suite) return context.skip();
      const flow = await call('POST', '/v1.0/flows', { name: 'secret' });
      const id = flow.body.id as string;
      const missing = await call('GET', `/v1.0/flows/${randomUUID()}`, undefined, 'key-bob');
      const foreign = await call('GET', `/v1.0/flows/${id}`, undefined, 'key-bob');
      expect(foreign.status).toBe(404);
      expect(foreign.body.error?.message).toBe(missing.body.error?.message);
      expect((await call('DELETE', `/v1.0/flows/${id}`, undefined, 'key-bob')).status).toBe(404);
      const list = await call('GET', '/v1.0/flows', undefined, 'key-bob');
      expect((list.body.result as { id: string }[]).some((entry) => entry.id === id)).toBe(false);
      const number = await call('POST', '/v1.0/numbers', { number: `+1${Date.now()}`, call_flow_id: id }, 'key-bob');
      expect(number.status).toBe(404);
    });

    it('runs an inbound call through its number\'s flow, with ai_talk and service_stop', async (context) => {
      if (!suite) return context.skip();
      const flow = await call('POST', '/v1.0/flows', {
        actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: randomUUID() } }, { type: 'talk', option: { text: 'bye ${voipbin.call.source}' } }, { type: 'hangup' }],
      });
      const dialled = `+1${Date.now()}`;
      expect((await call('POST', '/v1.0/numbers', { number: dialled, call_flow_id: flow.body.id })).status).toBe(200);
      expect((await call('POST', '/v1.0/numbers', { number: dialled }, 'key-bob')).body.error?.reason).toBe('RESOURCE_ALREADY_EXISTS');

      const created = await flowManager.callEvents.incoming({ channelId: 'chan-1', source: '+15550001', destination: dialled });
      await flowManager.runner.idle();
      const activeflowId = created!.activeflow_id!;
      const waiting = await call('GET', `/v1.0/activeflows/${activeflowId}`);
      expect(waiting.body).toMatchObject({ status: 'waiting', current_stack_id: aicallId, current_action: { type: 'block' } });
      expect(aiStarts.at(-1)).toMatchObject({ reference_type: 'call', reference_id: created!.id, activeflow_id: activeflowId });

      await rpcCall(bus, 'flow-manager', 'POST', `/v1/activeflows/${activeflowId}/service_stop`, { customer_id: keys['key-alice'], service_id: aicallId });
      await flowManager.runner.idle();
      const ended = await call('GET', `/v1.0/activeflows/${activeflowId}`);
      expect(ended.body).toMatchObject({ status: 'ended', end_reason: 'hangup action' });
      expect(calls.operations).toEqual(expect.arrayContaining(['talk bye +15550001', 'hangup normal']));
      const callView = await call('GET', `/v1.0/calls/${created!.id}`);
      expect(callView.body).toMatchObject({ direction: 'incoming', source: '+15550001', destination: dialled });
    });

    it('ends the activeflow when the caller hangs up, and records why', async (context) => {
      if (!suite) return context.skip();
      const flow = await call('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'block' }] });
      const dialled = `+2${Date.now()}`;
      await call('POST', '/v1.0/numbers', { number: dialled, call_flow_id: flow.body.id });
      const created = await flowManager.callEvents.incoming({ channelId: 'chan-2', source: '+15550002', destination: dialled });
      await flowManager.runner.idle();
      await flowManager.callEvents.hungUp('chan-2', 'Normal Clearing');
      const view = await call('GET', `/v1.0/calls/${created!.id}`);
      expect(view.body).toMatchObject({ status: 'hangup', hangup_by: 'remote', hangup_reason: 'Normal Clearing' });
      const activeflow = await call('GET', `/v1.0/activeflows/${created!.activeflow_id}`);
      expect(activeflow.body).toMatchObject({ status: 'ended', end_reason: 'the call hung up' });
      const published = () => events.some((event) => event.type === 'call_hangup' && (event.data as { id: string }).id === created!.id);
      for (let i = 0; i < 100 && !published(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(published()).toBe(true);
    });

    it('serves variables and substitution over RPC with limits', async (context) => {
      if (!suite) return context.skip();
      const started = await call('POST', '/v1.0/activeflows', { actions: [{ type: 'block' }], variables: { name: 'Ada' } });
      const id = started.body.id as string;
      await flowManager.runner.idle();
      const customer_id = keys['key-alice'];
      await rpcCall(bus, 'flow-manager', 'POST', `/v1/variables/${id}/variables`, { customer_id, variables: { greeting: 'Hello ${name}' } });
      const got = await rpcCall<{ variables: Record<string, string> }>(bus, 'flow-manager', 'GET', `/v1/variables/${id}?customer_id=${customer_id}`);
      expect(got.variables).toMatchObject({ name: 'Ada', greeting: 'Hello Ada' });
      const text = await rpcCall<{ text: string }>(bus, 'flow-manager', 'POST', `/v1/variables/${id}/substitute`, { customer_id, text: '${greeting}!' });
      expect(text.text).toBe('Hello Ada!');
      const tooLong = await rpcCall(bus, 'flow-manager', 'POST', `/v1/variables/${id}/variables`, { customer_id, variables: { x: 'y'.repeat(20_000) } }).catch(
        (error: unknown) => error,
      );
      expect(tooLong).toMatchObject({ reason: 'VALIDATION_FAILED' });
      const stopped = await call('POST', `/v1.0/activeflows/${id}/stop`);
      expect(stopped.body).toMatchObject({ status: 'ended', end_reason: 'stopped through the API' });
    });

    it('runs the message flow of a number for an inbound text message', async (context) => {
      if (!suite) return context.skip();
      const flow = await call('POST', '/v1.0/flows', { actions: [{ type: 'variable_set', option: { key: 'echo', value: 'got: ${voipbin.conversation_message.text}' } }, { type: 'block' }] });
      const number = `+3${Date.now()}`;
      await call('POST', '/v1.0/numbers', { number, message_flow_id: flow.body.id });
      const received = await call('POST', '/v1.0/conversation_messages', { conversation_id: 'conv-1', source: '+15559999', destination: number, text: 'hello' });
      expect(received.status).toBe(202);
      await flowManager.runner.idle();
      const activeflow = await call('GET', `/v1.0/activeflows/${(received.body.activeflow as { id: string }).id}`);
      expect(activeflow.body).toMatchObject({
        reference_type: 'conversation',
        reference_id: 'conv-1',
        status: 'waiting',
        variables: expect.objectContaining({ echo: 'got: hello', 'voipbin.conversation.id': 'conv-1' }),
      });
      const foreign = await call('POST', '/v1.0/conversation_messages', { conversation_id: 'c', source: 'a', destination: number, text: 'x' }, 'key-bob');
      expect(foreign.status).toBe(404);
    });
  });
}
