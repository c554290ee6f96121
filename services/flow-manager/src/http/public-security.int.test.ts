import { randomUUID } from 'node:crypto';
import {
  appError,
  createDatabase,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  createRpcRouter,
  OutboundPolicy,
  revocationEvent,
  silentLogger,
  type Bus,
  type Database,
} from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { FakeCallControl } from '../testing/fake-call-control.ts';

/** ai-manager's key check, as a double on the bus: key -> customer and key id. */
const keys = new Map<string, { customerId: string; keyId: string }>();
const alice = randomUUID();
const bob = randomUUID();

/** A new access key of the customer, with a rate-limit budget of its own. */
function newKey(customerId: string): string {
  const key = `key-${randomUUID()}`;
  keys.set(key, { customerId, keyId: randomUUID() });
  return key;
}

describe('flow-manager public API: per-key rate limit, outbound media URLs, answers that could leak', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let flowManager: FlowManager;
  let app: FastifyInstance;
  const calls = new FakeCallControl();

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    bus = createInProcessBus();
    const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      const caller = keys.get((data as { key: string }).key);
      if (!caller) throw appError('INVALID_CREDENTIALS');
      return { customer_id: caller.customerId, accesskey_id: caller.keyId };
    });
    await bus.serve('ai-manager', aiManager.handle);
    flowManager = await createFlowManager(
      { database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'security' },
      {
        callControl: calls,
        // Slow refill (one request per 20 s) so a slow machine cannot refill a bucket mid-test.
        rateLimit: { perSecond: 0.05, burst: 20 },
        outbound: new OutboundPolicy(undefined, async (host) => {
          if (host === 'media.example.com') return [{ address: '93.184.216.34', family: 4 }];
          throw new Error(`ENOTFOUND ${host}`);
        }),
      },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await flowManager.start();
    await app.ready();
  });

  afterAll(async () => {
    await flowManager.stop();
    await app.close();
    await bus.close();
    await database.close();
    await test.drop();
  });

  async function request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, key: string | undefined, body?: unknown) {
    const response = await app.inject({
      method,
      url,
      headers: key ? { authorization: `Bearer ${key}` } : {},
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() as { error?: { status: string; reason: string; message: string; request_id: string } } & Record<string, unknown> };
  }

  it('limits requests per access key with the 429 body and Retry-After ai-manager uses', async () => {
    const limited = newKey(alice);
    for (let index = 0; index < 20; index++) expect((await request('GET', '/v1.0/flows', limited)).status).toBe(200);
    const refused = await request('GET', '/v1.0/flows', limited);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED', message: 'Too many requests; retry later.' });
    expect(refused.body.error?.request_id).toBeTruthy();
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    // Every route of the key counts, and another key keeps its own budget.
    expect((await request('POST', '/v1.0/flows', limited, { actions: [] })).status).toBe(429);
    expect((await request('GET', '/v1.0/flows', newKey(alice))).status).toBe(200);
  });

  it('refuses unknown keys from an address that failed 30 key checks in a minute (429, not looked up); a key it knows goes on', async () => {
    const remoteAddress = '203.0.113.50';
    const from = async (key: string) => (await app.inject({ method: 'GET', url: '/v1.0/flows', remoteAddress, headers: { authorization: `Bearer ${key}` } })).statusCode;
    const known = newKey(alice);
    const fresh = newKey(alice);
    expect(await from(known)).toBe(200);
    for (let index = 0; index < 30; index++) expect(await from(`wrong-key-${index}`)).toBe(401);
    const refused = await app.inject({ method: 'GET', url: '/v1.0/flows', remoteAddress, headers: { authorization: 'Bearer wrong-key-30' } });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { reason: 'RATE_LIMITED', message: expect.stringContaining('failed authentications') } });
    expect(Number(refused.headers['retry-after'])).toBe(2);
    expect(await from(known)).toBe(200);
    expect(await from(fresh)).toBe(429);
    // Another address has its own budget.
    expect((await app.inject({ method: 'GET', url: '/v1.0/flows', remoteAddress: '198.51.100.9', headers: { authorization: `Bearer ${fresh}` } })).statusCode).toBe(200);
  });

  it('refuses a play action whose media URL points inside the platform, naming the action and URL', async () => {
    const key = newKey(bob);
    const internal = ['http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:8080/v1.0/customers', 'http://[::1]/a.wav', 'http://2130706433/a.wav', 'https://u:p@media.example.com/a.wav'];
    for (const url of internal) {
      const flow = await request('POST', '/v1.0/flows', key, { actions: [{ type: 'answer' }, { type: 'play', option: { stream_urls: ['sound:hello', url] } }] });
      expect([url, flow.status, flow.body.error?.reason]).toEqual([url, 400, 'VALIDATION_FAILED']);
      expect(flow.body.error?.message).toMatch(/^Invalid flow actions: actions\[1\] \(play\): option\.stream_urls\[1\]: must not/);
    }
    const inline = await request('POST', '/v1.0/activeflows', key, { actions: [{ type: 'play', option: { stream_urls: ['http://10.0.0.1/a.wav'] } }] });
    expect(inline.status).toBe(400);
    expect(inline.body.error?.message).toContain('10.0.0.1 is private');
    // Asterisk's own media, a public URL, and a URL only known when the flow runs are kept.
    const kept = await request('POST', '/v1.0/flows', key, {
      actions: [{ type: 'play', option: { stream_urls: ['sound:hello', 'tone:440', 'https://media.example.com/a.wav', 'https://${media_host}/a.wav'] } }],
    });
    expect(kept.status).toBe(200);
    const id = String(kept.body.id);
    const replaced = await request('PUT', `/v1.0/flows/${id}`, key, { actions: [{ type: 'play', option: { stream_urls: ['http://192.168.0.1/a.wav'] } }] });
    expect(replaced.status).toBe(400);
  });

  it('checks a media URL again when the action runs, after its placeholders are filled in', async () => {
    const key = newKey(bob);
    const flow = await request('POST', '/v1.0/flows', key, {
      actions: [
        { type: 'answer' },
        { type: 'variable_set', option: { key: 'media_host', value: '169.254.169.254' } },
        { type: 'play', option: { stream_urls: ['http://${media_host}/latest/meta-data/'] } },
      ],
    });
    expect(flow.status).toBe(200);
    const dialled = `+1666${Math.floor(Math.random() * 1e7)}`;
    expect((await request('POST', '/v1.0/numbers', key, { number: dialled, call_flow_id: flow.body.id })).status).toBe(200);
    const created = await flowManager.callEvents.incoming({ channelId: `chan-${randomUUID()}`, source: '+15550001', destination: dialled });
    await flowManager.runner.idle();
    const activeflow = await request('GET', `/v1.0/activeflows/${String(created?.activeflow_id)}`, key);
    expect(activeflow.body).toMatchObject({ status: 'ended' });
    expect(String(activeflow.body.end_reason)).toContain('stream_urls[0]: must not point at an internal address: 169.254.169.254 is link-local');
    expect(calls.operations.filter((operation) => operation.startsWith('play'))).toEqual([]);
  });

  it("answers another customer's number exactly like one's own duplicate, naming no owner (a documented trade-off)", async () => {
    const number = `+1555${Math.floor(Math.random() * 1e7)}`;
    const owner = newKey(alice);
    expect((await request('POST', '/v1.0/numbers', owner, { number })).status).toBe(200);
    const own = await request('POST', '/v1.0/numbers', owner, { number });
    const foreign = await request('POST', '/v1.0/numbers', newKey(bob), { number });
    expect([own.status, foreign.status]).toEqual([409, 409]);
    const withoutRequestId = (body: typeof own.body) => ({ ...body.error, request_id: undefined });
    expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(own.body));
    expect(JSON.stringify(foreign.body)).not.toContain(alice);
  });

  it('answers a method no route has with 404 before looking at the key (documented)', async () => {
    for (const [method, url] of [['PATCH', '/v1.0/flows'], ['DELETE', '/v1.0/flows'], ['PUT', '/v1.0/calls']] as const) {
      const answer = await request(method, url, undefined);
      expect([method, url, answer.status, answer.body.error?.reason]).toEqual([method, url, 404, 'ROUTE_NOT_FOUND']);
    }
    expect((await request('GET', '/v1.0/flows', undefined)).status).toBe(401);
  });

  it("drops a revoked key's cached lookup when ai-manager announces the revocation", async () => {
    const key = newKey(bob);
    const { keyId } = keys.get(key)!;
    expect((await request('GET', '/v1.0/numbers', key)).status).toBe(200);
    keys.delete(key);
    // Cached for 5 s: still accepted until the announcement arrives.
    expect((await request('GET', '/v1.0/numbers', key)).status).toBe(200);
    const { type, data } = revocationEvent({ keyId, customerId: bob });
    await bus.publish('ai-manager', { type, data });
    const deadline = Date.now() + 2000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await request('GET', '/v1.0/numbers', key)).status;
    }
    expect(status).toBe(401);
  });
});
