import { isDeepStrictEqual } from 'node:util';
import { registryProviders } from '@avp/pipeline-manager';
import { isAppError, rpcCall, type RpcRouter } from '@avp/shared';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { internalProbes, serviceRoutes, type InternalProbe, type InternalService } from './testing/internal-probes.ts';
import { probesFrom, type OpenApiDocument, type Probe } from './testing/openapi-probes.ts';
import { describeModes, useStack, type ApiBody } from './testing/stack.ts';
import { stretchStt } from './testing/stretch-stt.ts';
import { createTenant, revealingValues, snapshot, type Tenant } from './testing/tenants.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** The three ways a customer endpoint takes an access key. */
const authForms = {
  bearer: (url: string, key: string) => ({ url, headers: { authorization: `Bearer ${key}` } }),
  accesskey: (url: string, key: string) => ({ url: `${url}${url.includes('?') ? '&' : '?'}accesskey=${key}`, headers: {} }),
  token: (url: string, key: string) => ({ url: `${url}${url.includes('?') ? '&' : '?'}token=${key}`, headers: {} }),
};

/**
 * Tenant isolation across the three services, as a standing test. Alice has one resource of
 * every kind (conversation channels with a conversation each included) and a live call through the Asterisk simulator that her AI is talking on; Bob has
 * the same with a text AIcall. With Bob's key, every operation of both OpenAPI documents is
 * sent with Alice's ids (in the path, the query and the body, one at a time, Bob's own ids
 * elsewhere, in every auth form; her channels' webhooks, which take no key, signed with Bob's
 * secrets or none), and every bus route on a customer's resource is asked for
 * Alice's resources in Bob's name. None may answer with Alice's data or change it: her
 * resources, read with her own key, are the same afterwards and her session still runs.
 */
await describeModes('tenant isolation: one customer with another customer ids, on every route', (mode) => {
  const stack = useStack({
    mode,
    name: 'tenant-isolation',
    // Each tenant's call is transcribed ('stretch': a recogniser double); the AI sessions keep their scripted STT.
    aiManager: { transcribes: { sttType: 'stretch' } },
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: { ...registryProviders, stt: (ai) => (ai.stt_type === 'stretch' ? stretchStt() : scriptedStt([])) },
    },
  });
  let alice: Tenant;
  let bob: Tenant;
  /** Alice's resources as she sees them, once her session has settled. */
  let before: Record<string, unknown>;
  /** The pipeline-manager process's own queue (its pipelines and transcribers). */
  let pipelineInstance: string;

  beforeAll(async () => {
    ({ instance_id: pipelineInstance } = await rpcCall<{ instance_id: string }>(stack.bus, 'pipeline-manager', 'GET', '/v1/ping'));
    alice = await createTenant(stack, { name: 'alice', key: stack.key, voice: true });
    bob = await createTenant(stack, { name: 'bob', voice: false });
    before = await settledSnapshot(alice);
  }, 90_000);

  afterAll(() => {
    alice?.caller.hangup();
    bob?.caller.hangup();
  });

  /**
   * Alice's resources are as they were, her voice session still runs, her call is up and is
   * transcribed by her own transcribers only (none stopped, none added on it).
   */
  async function expectAliceUntouched(): Promise<void> {
    expect(await snapshot(alice)).toEqual(before);
    expect(stack.pipelineManager.sessions.has(alice.ids.aicall)).toBe(true);
    expect(stack.simulator.channels().some((channel) => channel.id === alice.caller.id)).toBe(true);
    const { result: transcribers } = await rpcCall<{ result: { transcriber_id: string; call_id: string }[] }>(stack.bus, 'pipeline-manager', 'GET', '/v1/transcribers', undefined, {
      instanceId: pipelineInstance,
    });
    expect(transcribers.filter((entry) => entry.call_id === alice.ids.call).map((entry) => entry.transcriber_id).sort()).toEqual(alice.transcribers.map((entry) => entry.id).sort());
  }

  it('answers no documented operation with Alice\'s data, in any auth form, and changes none of it', async () => {
    const documents = await Promise.all(
      ['/v1.0/docs/json', '/v1.0/docs/flow-manager/json'].map(async (url) => (await stack.app.inject({ method: 'GET', url })).json<OpenApiDocument>()),
    );
    const probes = documents.flatMap((document) => probesFrom(document, alice, bob));
    // Both documents, every path: a document that stopped listing its routes would make this vacuous.
    expect(new Set(probes.map((probe) => probe.operation)).size).toBeGreaterThanOrEqual(55);
    const failures: string[] = [];
    for (const probe of probes) failures.push(...(await send(probe)));
    expect(failures).toEqual([]);
    await expectAliceUntouched();
    // Nor did a refused request leave Bob anything bound to Alice's resources (an AIcall on her flow,
    // a transcription of her call, say: her own transcribers are the only ones on it, checked above).
    const bobsData = JSON.stringify(await snapshot(bob));
    expect(revealingValues(alice).filter((value) => bobsData.includes(value))).toEqual([]);
  }, 60_000);

  it('refuses every bus route on a customer\'s resource asked in another customer\'s name', async () => {
    const probes = internalProbes(alice, bob, pipelineInstance);
    const routers: Record<InternalService, RpcRouter> = {
      'ai-manager': stack.aiManager.rpcRouter,
      'flow-manager': stack.flowManager.rpcRouter,
      'pipeline-manager': stack.pipelineManager.rpcRouter,
    };
    for (const [service, router] of Object.entries(routers) as [InternalService, RpcRouter][]) {
      const known = new Set([...serviceRoutes[service], ...probes.filter((probe) => probe.service === service).map((probe) => probe.route)]);
      const unprobed = router.routes().map((route) => `${route.method} ${route.pattern}`).filter((route) => !known.has(route));
      expect(unprobed, `${service}: bus routes the isolation sweep does not know`).toEqual([]);
    }
    const outcomes = await Promise.all(probes.map(async (probe) => [`${probe.service} ${probe.route}`, await ask(probe)] as const));
    expect(Object.fromEntries(outcomes.filter(([, outcome]) => outcome !== 'refused'))).toEqual({});
    await expectAliceUntouched();
  }, 60_000);

  it("on Alice's live call, Bob can neither start an AIcall nor bind one to her activeflow; on his own he can", async () => {
    const start = (body: Record<string, unknown>) => stack.request('POST', '/v1.0/aicalls', { authorization: bob.key, body: { assistance_type: 'ai', assistance_id: bob.ids.ai, ...body } });
    const onHerCall = await start({ reference_type: 'call', reference_id: alice.ids.call });
    const onHerFlowFromHisCall = await start({ reference_type: 'call', reference_id: bob.ids.call, activeflow_id: alice.ids.activeflow });
    const textOnHerFlow = await start({ activeflow_id: alice.ids.activeflow });
    expect([onHerCall, onHerFlowFromHisCall, textOnHerFlow].map((response) => [response.status, (response.body.error as ApiBody | undefined)?.message])).toEqual([
      [404, 'No call with this id.'],
      [404, 'No activeflow with this id.'],
      [404, 'No activeflow with this id.'],
    ]);
    const bobs = (await bob.api('GET', '/v1.0/aicalls')).result as { activeflow_id: string | null; reference_id: string | null }[];
    expect(bobs.filter((aicall) => aicall.activeflow_id === alice.ids.activeflow || aicall.reference_id === alice.ids.call)).toEqual([]);
    await expectAliceUntouched();

    // The same requests with his own call and flow work: the refusals above are about Alice's ids.
    const text = await start({ activeflow_id: bob.ids.activeflow });
    expect(text.status, JSON.stringify(text.body)).toBe(200);
    const voice = await start({ reference_type: 'call', reference_id: bob.ids.call, activeflow_id: bob.ids.activeflow });
    expect(voice.status, JSON.stringify(voice.body)).toBe(200);
    const bobsFlow = await bob.api('GET', `/v1.0/activeflows/${bob.ids.activeflow}`);
    expect(bobsFlow.variables).toMatchObject({ 'voipbin.aicall.id': voice.body.id, secret: bob.secret });
    await expectAliceUntouched();
  }, 60_000);

  it("runs Alice's AI nowhere when Bob's flow names it: refused when Bob saves or starts it (the session start refuses it too: the bus probes)", async () => {
    for (const [url, body] of [
      ['/v1.0/activeflows', { actions: [{ type: 'ai_talk', option: { ai_id: alice.ids.ai } }] }],
      ['/v1.0/flows', { actions: [{ type: 'ai_task', option: { ai_id: alice.ids.ai } }] }],
    ] as const) {
      const response = await stack.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${bob.key}` }, payload: body });
      expect(response.statusCode, url).toBe(400);
      expect(response.json<{ error: { message: string } }>().error.message).toMatch(/actions\[0\] \((ai_talk|ai_task)\): ai_id: no AI [0-9a-f-]+ of yours/);
    }
    await expectAliceUntouched();
  }, 30_000);

  /** Sends a probe in every auth form with Bob's key; answers what went wrong (nothing: []). */
  async function send(probe: Probe): Promise<string[]> {
    const failures: string[] = [];
    const sent = `${probe.url} ${JSON.stringify(probe.body ?? {})} ${probe.raw?.payload ?? ''}`;
    const secrets = revealingValues(alice).filter((value) => !sent.includes(value));
    for (const [form, shape] of Object.entries(authForms)) {
      const { url, headers } = shape(probe.url, bob.key);
      // A raw body (a vendor webhook's) goes as it is, with headers made for the URL as sent.
      const response = probe.raw
        ? await stack.app.inject({ method: probe.method, url, headers: { ...headers, ...probe.raw.headers(url) }, payload: probe.raw.payload })
        : await stack.app.inject({ method: probe.method, url, headers, ...(probe.body ? { payload: probe.body } : {}) });
      const text = response.body;
      const where = `${probe.operation}${probe.foreign ? ` [${probe.foreign.slot} = alice's ${probe.foreign.kind}]` : ''} (${form}) -> ${response.statusCode} ${text.slice(0, 300)}`;
      const revealed = secrets.filter((value) => text.includes(value));
      if (revealed.length > 0) failures.push(`reveals ${revealed.join(', ')}: ${where}`);
      const error = String(response.headers['content-type'] ?? '').includes('json') ? (response.json<ApiBody>().error as { reason?: string; message?: string } | undefined) : undefined;
      const expectation = probe.expect;
      const ok =
        expectation.kind === 'not_found'
          ? response.statusCode === 404 && error?.reason === 'RESOURCE_NOT_FOUND' && expectation.message.test(error.message ?? '')
          : expectation.kind === 'unauthorized'
            ? response.statusCode === 401
            : expectation.kind === 'bad_signature'
              ? response.statusCode === 401 && error?.reason === 'INVALID_SIGNATURE'
            : expectation.kind === 'refused'
              ? response.statusCode === 404 || response.statusCode === 409
              : response.statusCode < 500;
      if (!ok) failures.push(`expected ${expectation.kind}${expectation.kind === 'not_found' ? ` ${expectation.message}` : ''}: ${where}`);
    }
    return failures;
  }

  /** Asks a bus route; answers 'refused' when it refused as it must, else what it answered. */
  async function ask(probe: InternalProbe): Promise<string> {
    const options = { publisher: 'isolation-test', timeoutMs: 10_000, ...(probe.instanceId ? { instanceId: probe.instanceId } : {}) };
    try {
      const reply = await rpcCall<{ result?: string; message?: string; id?: string }>(stack.bus, probe.service, probe.method, probe.uri, probe.data, options);
      const refused =
        (probe.expect === 'tool_refused' && reply.result === 'failed' && reply.message === 'The AI conversation does not exist.') ||
        (probe.expect === 'no_service' && reply.id === '');
      return refused ? 'refused' : `answered ${JSON.stringify(reply).slice(0, 300)}`;
    } catch (error) {
      if ((probe.expect === 'not_found' || probe.expect === 'no_service') && isAppError(error) && error.httpStatus === 404 && error.reason === 'RESOURCE_NOT_FOUND') return 'refused';
      return isAppError(error) ? `${error.httpStatus} ${error.reason}: ${error.message}` : String(error);
    }
  }
});

/** A tenant's snapshot once two reads in a row agree (a voice session's greeting is stored and charged by then). */
async function settledSnapshot(tenant: Tenant): Promise<Record<string, unknown>> {
  let previous = await snapshot(tenant);
  for (let attempt = 0; attempt < 40; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await snapshot(tenant);
    if (isDeepStrictEqual(previous, next)) return next;
    previous = next;
  }
  throw new Error(`${tenant.name}'s resources did not settle`);
}
