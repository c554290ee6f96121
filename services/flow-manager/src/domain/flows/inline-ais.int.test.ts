import { randomUUID } from 'node:crypto';
import {
  aiSchema,
  appError,
  createDatabase,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  createRpcRouter,
  inlineAiSyncSchema,
  silentLogger,
  type Ai,
  type Bus,
  type Database,
  type InlineAiSync,
} from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../../app.ts';
import { FakeCallControl } from '../../testing/fake-call-control.ts';

const customerId = randomUUID();
const key = 'key-inline';

/**
 * flow-manager's side of inline AI settings, with a double of ai-manager on the bus that keeps
 * the inline AIs it is sent (a key only as "set") or refuses them like ai-manager does: what
 * a flow stores and shows, what goes to ai-manager, and what happens when it refuses or is away.
 */
describe('inline AI settings in flow actions (flow-manager)', () => {
  let test: Awaited<ReturnType<typeof createTestPgliteDatabase>>;
  let database: Database;
  let bus: Bus;
  let app: FastifyInstance;
  let flowManager: FlowManager;
  /** What ai-manager was asked, in order. */
  const syncs: InlineAiSync[] = [];
  const aiStarts: Record<string, unknown>[] = [];
  /** The double's stored inline AIs by owner and action. */
  const stored = new Map<string, Ai & { engine_key?: string }>();
  let mode: 'up' | 'away' | 'refuse' = 'up';
  /** Runs inside the double's next sync, before it answers (a racing request). */
  let duringNextSync: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    bus = createInProcessBus();
    const aiManager = createRpcRouter()
      .add('GET', '/v1/ais/:id', async () => {
        throw appError('RESOURCE_NOT_FOUND', 'No AI with this id.');
      })
      .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId, accesskey_id: randomUUID() };
      })
      .add('PUT', '/v1/inline_ais', async ({ data }) => {
        const request = inlineAiSyncSchema.parse(data);
        syncs.push(request);
        const hook = duringNextSync;
        duringNextSync = undefined;
        await hook?.();
        if (mode === 'away') throw appError('INTERNAL', 'the database is down');
        if (mode === 'refuse') {
          const problems = request.ais.map((item) => ({ action_id: item.action_id, message: 'fallback_engine_key: set fallback_engine_model too (a key with no fallback model is never used)' }));
          throw appError('VALIDATION_FAILED', 'Invalid inline AI settings', { problems });
        }
        for (const name of stored.keys()) if (name.startsWith(`${request.owner_id}/`) && !request.ais.some((item) => name.endsWith(item.action_id))) stored.delete(name);
        const result = request.ais.map((item) => {
          const name = `${request.owner_id}/${item.action_id}`;
          const before = stored.get(name);
          const settings = item.settings as Partial<Ai> & { engine_key?: string };
          const engineKey = settings.engine_key === undefined ? before?.engine_key : settings.engine_key || undefined;
          const ai = { ...aiView(before?.id ?? randomUUID(), settings), engine_key_set: engineKey !== undefined, engine_key: engineKey };
          stored.set(name, ai);
          const { engine_key: _key, ...shown } = ai;
          return { action_id: item.action_id, ai: shown };
        });
        return { result };
      })
      .add('POST', '/v1/services/type/aicall', async ({ data }) => {
        aiStarts.push(data as Record<string, unknown>);
        const id = randomUUID();
        return { id, type: 'aicall', push_actions: [{ id, type: 'block' }] };
      });
    await bus.serve('ai-manager', aiManager.handle);
    flowManager = await createFlowManager(
      { database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'inline-ais' },
      { callControl: new FakeCallControl(), rateLimit: { perSecond: 0, burst: 1 } },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await flowManager.start();
    await app.ready();
  });

  afterAll(async () => {
    await flowManager?.stop();
    await app?.close();
    await bus?.close();
    await database?.close();
    await test?.drop();
  });

  beforeEach(() => {
    mode = 'up';
    syncs.length = 0;
  });

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown) {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: response.statusCode, text: response.body, body: response.json() as Record<string, unknown> & { error?: { reason: string; message: string } } };
  }

  const inlineTalk = (settings: Record<string, unknown> = {}) => ({
    type: 'ai_talk',
    option: { engine_model: 'local.scripted', init_prompt: 'You help.', tts_type: 'local', engine_key: 'sk-inline-NEVER-SHOWN', ...settings },
  });

  it('stores the settings ai-manager kept, never the key: engine_key_set and the hidden AI instead', async () => {
    const created = await call('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, inlineTalk({ duration: 60 }), { type: 'hangup' }] });
    expect(created.status, created.text).toBe(200);
    expect(syncs).toHaveLength(1);
    expect(syncs[0]).toMatchObject({ customer_id: customerId, owner_type: 'flow', owner_id: created.body.id });
    // The key goes to ai-manager (to be encrypted there), not into the flow.
    expect(syncs[0]!.ais[0]!.settings).toEqual({ engine_model: 'local.scripted', init_prompt: 'You help.', tts_type: 'local', engine_key: 'sk-inline-NEVER-SHOWN' });
    const action = (created.body.actions as { id: string; option: Record<string, unknown> }[])[1]!;
    expect(action.option).toMatchObject({ engine_model: 'local.scripted', duration: 60, engine_key_set: true, inline_ai_id: expect.any(String) });
    expect(action.option).not.toHaveProperty('engine_key');
    const read = await call('GET', `/v1.0/flows/${created.body.id as string}`);
    expect(read.text).not.toContain('sk-inline-NEVER-SHOWN');
    expect((await call('GET', '/v1.0/flows')).text).not.toContain('sk-inline-NEVER-SHOWN');
    const rows = await sql<{ actions: unknown }>`select actions from flow_manager.flows`.execute(database.forSchema('flow_manager'));
    expect(JSON.stringify(rows.rows)).not.toContain('sk-inline-NEVER-SHOWN');
  });

  it('keeps the key when the flow is saved again as it was read, and drops what a client put in the read-only fields', async () => {
    const created = await call('POST', '/v1.0/flows', { actions: [inlineTalk()] });
    const [action] = created.body.actions as { id: string; type: string; option: Record<string, unknown> }[];
    const hiddenId = action!.option.inline_ai_id;
    // A client sends the flow back as it read it, with read-only fields it made up.
    const resent = { ...action!, option: { ...action!.option, engine_key_set: false, inline_ai_id: randomUUID() } };
    const replaced = await call('PUT', `/v1.0/flows/${created.body.id as string}`, { actions: [resent] });
    expect(replaced.status, replaced.text).toBe(200);
    expect(syncs.at(-1)!.ais[0]!.settings).not.toHaveProperty('engine_key');
    expect(syncs.at(-1)!.ais[0]!.settings).not.toHaveProperty('inline_ai_id');
    expect((replaced.body.actions as { option: Record<string, unknown> }[])[0]!.option).toMatchObject({ engine_key_set: true, inline_ai_id: hiddenId });
    // "" removes the key, as on PUT /v1.0/ais.
    const removed = await call('PUT', `/v1.0/flows/${created.body.id as string}`, { actions: [{ ...action!, option: { ...action!.option, engine_key: '' } }] });
    expect((removed.body.actions as { option: Record<string, unknown> }[])[0]!.option).toMatchObject({ engine_key_set: false, inline_ai_id: hiddenId });
  });

  it('refuses a named AI together with inline settings, and a bad setting with the message of POST /v1.0/ais, without asking ai-manager', async () => {
    const both = await call('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: randomUUID(), engine_model: 'local.scripted' } }] });
    expect(both.status).toBe(400);
    expect(both.body.error?.message).toMatch(/actions\[0\] \(ai_talk\): option: name an AI \(ai_id, or assistance_id\) or give its settings inline/);
    const badTts = await call('POST', '/v1.0/flows', { actions: [{ type: 'ai', option: { engine_model: 'local.scripted', tts_type: 'piper' } }] });
    expect(badTts.status).toBe(400);
    expect(badTts.body.error?.message).toContain('actions[0] (ai): option.tts_type: tts_type "piper" is not supported; supported: aws, azure, cartesia, deepgram, elevenlabs, google, openai, local');
    const noModel = await call('POST', '/v1.0/flows', { actions: [{ type: 'ai_task', option: { init_prompt: 'hi' } }] });
    expect(noModel.body.error?.message).toBe('Invalid flow actions: actions[0] (ai_task): option.engine_model: Invalid input: expected string, received undefined');
    expect(syncs).toEqual([]);
  });

  it("names the action ai-manager refused by its position, and saves nothing", async () => {
    const before = (await call('GET', '/v1.0/flows?page_size=100')).body.result as unknown[];
    mode = 'refuse';
    const refused = await call('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, inlineTalk({ fallback_engine_key: 'sk-x' })] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      reason: 'VALIDATION_FAILED',
      message: 'Invalid flow actions: actions[1] (ai_talk): fallback_engine_key: set fallback_engine_model too (a key with no fallback model is never used)',
    });
    expect((await call('GET', '/v1.0/flows?page_size=100')).body.result).toHaveLength(before.length);
  });

  it('answers 503 and saves nothing when ai-manager cannot take the settings: no flow, no replace, no delete, no activeflow, no call', async () => {
    const flow = await call('POST', '/v1.0/flows', { actions: [inlineTalk()] });
    const before = (await call('GET', '/v1.0/flows?page_size=100')).body.result as unknown[];
    const activeflowsBefore = ((await call('GET', '/v1.0/activeflows?page_size=100')).body.result as unknown[]).length;
    mode = 'away';
    const created = await call('POST', '/v1.0/flows', { actions: [inlineTalk()] });
    expect(created.status).toBe(503);
    expect(created.body.error).toMatchObject({ reason: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('inline AI settings could not be saved') });
    const replaced = await call('PUT', `/v1.0/flows/${flow.body.id as string}`, { actions: [inlineTalk({ init_prompt: 'changed' })] });
    expect(replaced.status).toBe(503);
    expect((await call('DELETE', `/v1.0/flows/${flow.body.id as string}`)).status).toBe(503);
    expect((await call('POST', '/v1.0/activeflows', { actions: [inlineTalk()] })).status).toBe(503);
    expect((await call('POST', '/v1.0/calls', { source: { type: 'tel', target: '+15550000' }, destinations: [{ type: 'tel', target: '+15551111' }], actions: [inlineTalk()] })).status).toBe(503);
    mode = 'up';
    expect((await call('GET', '/v1.0/flows?page_size=100')).body.result).toEqual(before);
    expect(((await call('GET', '/v1.0/activeflows?page_size=100')).body.result as unknown[]).length).toBe(activeflowsBefore);
    // A flow without inline settings does not need ai-manager for them.
    mode = 'away';
    expect((await call('POST', '/v1.0/flows', { actions: [{ type: 'hangup' }] })).status).toBe(200);
  });

  it('starts the session with the hidden AI; ai_talk, ai and ai_task each get their own', async () => {
    const started = await call('POST', '/v1.0/activeflows', {
      actions: [inlineTalk(), { type: 'ai', option: { engine_model: 'local.scripted' } }, { type: 'ai_task', option: { engine_model: 'local.scripted' } }],
    });
    expect(started.status, started.text).toBe(200);
    expect(syncs.at(-1)).toMatchObject({ owner_type: 'activeflow', owner_id: started.body.id });
    await flowManager.runner.idle();
    const hiddenIds = (started.body.stacks as { actions: { option: { inline_ai_id: string } }[] }[])[0]!.actions.map((action) => action.option.inline_ai_id);
    expect(new Set(hiddenIds).size).toBe(3);
    const hidden = hiddenIds[0];
    expect(aiStarts.at(-1)).toMatchObject({ activeflow_id: started.body.id, assistance_type: 'ai', assistance_id: hidden });
    expect(JSON.stringify(aiStarts.at(-1))).not.toContain('sk-inline');
  });

  it('deletes the inline AIs with the flow, and those of actions a replace dropped', async () => {
    const flow = await call('POST', '/v1.0/flows', { actions: [inlineTalk(), inlineTalk({ init_prompt: 'second' })] });
    const id = flow.body.id as string;
    const [first] = flow.body.actions as { id: string; type: string; option: Record<string, unknown> }[];
    await call('PUT', `/v1.0/flows/${id}`, { actions: [first] });
    expect(syncs.at(-1)!.ais.map((item) => item.action_id)).toEqual([first!.id]);
    // A replace without inline settings still tells ai-manager: the flow's inline AIs go.
    await call('PUT', `/v1.0/flows/${id}`, { actions: [{ type: 'hangup' }] });
    expect(syncs.at(-1)).toMatchObject({ owner_id: id, ais: [] });
    await call('PUT', `/v1.0/flows/${id}`, { actions: [inlineTalk()] });
    expect((await call('DELETE', `/v1.0/flows/${id}`)).status).toBe(200);
    expect(syncs.at(-1)).toMatchObject({ owner_type: 'flow', owner_id: id, ais: [] });
  });

  it('saves the inline AIs again when another replace of the flow ran in between, so the flow and its AIs agree', async () => {
    const flow = await call('POST', '/v1.0/flows', { actions: [inlineTalk({ init_prompt: 'v1' })] });
    const id = flow.body.id as string;
    const [action] = flow.body.actions as { id: string; type: string; option: Record<string, unknown> }[];
    syncs.length = 0;
    duringNextSync = async () => {
      const other = await call('PUT', `/v1.0/flows/${id}`, { actions: [{ ...action!, option: { ...action!.option, init_prompt: 'racing' } }] });
      expect(other.status).toBe(200);
    };
    const replaced = await call('PUT', `/v1.0/flows/${id}`, { actions: [{ ...action!, option: { ...action!.option, init_prompt: 'v2' } }] });
    expect(replaced.status, replaced.text).toBe(200);
    // Its own sync, the racing one, then its own again: the last word is v2 in both places.
    expect(syncs.map((sync) => sync.ais[0]!.settings.init_prompt)).toEqual(['v2', 'racing', 'v2']);
    expect((replaced.body.actions as { option: { init_prompt: string } }[])[0]!.option.init_prompt).toBe('v2');
    expect(stored.get(`${id}/${action!.id}`)!.init_prompt).toBe('v2');
  });
});

/** The AI the double keeps: POST /v1.0/ais's defaults under what was sent. */
function aiView(id: string, settings: Record<string, unknown>): Ai {
  return aiSchema.parse({
    id,
    customer_id: customerId,
    name: '',
    detail: '',
    engine_model: 'local.scripted',
    parameter: {},
    engine_key_set: false,
    init_prompt: '',
    tts_type: '',
    tts_voice_id: '',
    stt_type: '',
    stt_language: '',
    tool_names: [],
    vad_config: {},
    smart_turn_enabled: false,
    turn_config: {},
    media_transport: '',
    knowledgebase_ids: [],
    fallback_engine_model: '',
    fallback_engine_key_set: false,
    fallback_tts_type: '',
    fallback_tts_voice_id: '',
    no_input_timeout: 0,
    no_input_max: 2,
    tm_create: '2026-01-01T00:00:00.000000Z',
    tm_update: '2026-01-01T00:00:00.000000Z',
    tm_delete: null,
    ...Object.fromEntries(Object.entries(settings).filter(([name]) => name !== 'engine_key' && name !== 'fallback_engine_key')),
  });
}
