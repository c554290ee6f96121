import { randomBytes } from 'node:crypto';
import { createAiManager } from '@avp/ai-manager';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { createFlowManager, type FlowManager } from '@avp/flow-manager';
import { createPipelineManager, registryProviders, type PipelineManager } from '@avp/pipeline-manager';
import {
  createDatabase,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  rpcCall,
  silentLogger,
  type Bus,
  type Database,
  type Service,
} from '@avp/shared';
import { createTestPgliteDatabase, eventually, freePort, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const adminToken = randomBytes(16).toString('hex');

/** The offline scripted engine's script, given to the AI as its init_prompt. */
const script = {
  script: [
    { say: 'Hello, this is the offline assistant. What is your name?' },
    { wait: 'answer', into: 'name' },
    { say: 'Nice to meet you, ${name}. Goodbye.' },
    { end: true },
  ],
};

/**
 * A voice AI session through all three services: flow-manager's `ai_talk` asks ai-manager
 * to start the session; ai-manager writes the prompts and variables and asks
 * pipeline-manager for a pipeline; the offline scripted engine talks with the caller; the
 * caller hangs up and everything is cleaned up. Only STT and VAD are doubles (no offline
 * speech recogniser exists).
 */
describe('an AI session from ai_talk to hang-up, across the three services', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let simulator: AsteriskSimulator;
  let services: Service[] = [];
  let flowManager: FlowManager;
  let pipelineManager: PipelineManager;
  let app: FastifyInstance;
  let key = '';

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    bus = createInProcessBus();
    simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
    const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-1` });
    const port = await freePort();
    const aiManager = await createAiManager(context('ai-manager'), {
      adminToken,
      engineKeyEncryptionKey: randomBytes(32).toString('hex'),
      rateLimit: { perSecond: 0, burst: 1 },
    });
    flowManager = await createFlowManager(context('flow-manager'), {
      ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: 'avp' }, mediaBaseUrl: `http://127.0.0.1:${port}` },
    });
    pipelineManager = await createPipelineManager(context('pipeline-manager'), {
      createVad: async () => loudnessVad(),
      providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) },
    });
    services = [aiManager, flowManager, pipelineManager];
    app = createHttpServer({ logger: silentLogger() });
    for (const service of services) await service.registerRoutes(app);
    await app.listen({ port, host: '127.0.0.1' });
    for (const service of services) await service.start();
    await simulator.waitForApp('avp');

    const customer = await app.inject({
      method: 'POST',
      url: '/v1.0/customers',
      headers: { authorization: `Bearer ${adminToken}` },
      payload: { name: 'e2e' },
    });
    key = (customer.json() as { accesskey: { key: string } }).accesskey.key;
  }, 60_000);

  afterAll(async () => {
    for (const service of [...services].reverse()) await service.stop();
    await app?.close();
    await simulator?.close();
    await bus?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    const json = response.json() as Record<string, unknown>;
    if (response.statusCode >= 400) throw new Error(`${method} ${url}: ${response.statusCode} ${JSON.stringify(json)}`);
    return json;
  }

  it('starts the session from the flow, talks, and cleans up when the caller hangs up', async () => {
    const ai = await api('POST', '/v1.0/ais', {
      name: 'offline',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(script),
      tts_type: 'local',
      stt_language: 'en-US',
    });
    const flow = await api('POST', '/v1.0/flows', {
      actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }],
    });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const caller = simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880000' });
    await caller.waitForAudio(20_000); // The scripted greeting, spoken by espeak-ng.
    const list = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; status: string; reference_id: string; activeflow_id: string }[] };
    const aicall = list.result[0]!;
    expect(aicall.status).toBe('progressing');
    const activeflow = await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`);
    expect(activeflow).toMatchObject({
      status: 'waiting',
      current_stack_id: aicall.id,
      variables: expect.objectContaining({ 'voipbin.aicall.id': aicall.id, 'voipbin.aicall.ai_engine_model': 'local.scripted' }),
    });

    await caller.waitForSilence(20_000);
    await eventually(async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: unknown[] }).result.length >= 3, 'the greeting to be stored', 20_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    const messages = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string }[] }).result;
    await eventually(async () => (await messages()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end', 20_000);
    await eventually(() => pipelineManager.sessions.size === 0, 'the pipeline to stop');
    await eventually(() => !simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg to go');
    const stored = (await messages()).reverse();
    expect(stored.map((message) => message.role)).toEqual(['system', 'system', 'assistant', 'user', 'assistant']);
    expect(stored[1]!.content).toContain('"script"');
    expect(stored[3]!.content).toBe('Ada');
    expect((await api('GET', `/v1.0/aicalls/${aicall.id}`)).tm_end).not.toBeNull();
    expect((await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`)).status).toBe('ended');
  }, 120_000);

  it('runs tools: set_variables, then stop_service hands the call back to the flow', async () => {
    const toolScript = {
      script: [
        { say: 'Hello again. What is your name?' },
        { wait: 'answer', into: 'name' },
        { tool: 'set_variables', arguments: { variables: { caller_name: '${name}' } } },
        { say: 'Thank you, ${name}. I am handing you back.' },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', {
      name: 'offline with tools',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(toolScript),
      tts_type: 'local',
      stt_language: 'en-US',
      tool_names: ['set_variables', 'stop_service'],
    });
    const flow = await api('POST', '/v1.0/flows', {
      actions: [
        { type: 'answer' },
        { type: 'ai_talk', option: { ai_id: ai.id } },
        { type: 'talk', option: { text: 'Welcome back to the flow, ${caller_name}.' } },
        { type: 'hangup' },
      ],
    });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const caller = simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880001' });
    await caller.waitForAudio(20_000);
    await caller.waitForSilence(20_000);
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    await eventually(async () => ((await api('GET', '/v1.0/aicalls')) as { result: { activeflow_id: string }[] }).result.some((entry) => entry.activeflow_id === activeflowId), 'the session');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await caller.waitForHangup(60_000);

    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    const activeflow = await api('GET', `/v1.0/activeflows/${activeflowId}`);
    expect(activeflow).toMatchObject({ end_reason: 'hangup action', variables: expect.objectContaining({ caller_name: 'Ada' }) });
    const aicall = ((await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string; status: string }[] }).result.find(
      (entry) => entry.activeflow_id === activeflowId,
    )!;
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end');
    const stored = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string; tool_calls: { function: { name: string } }[] }[] }).result.reverse();
    expect(stored.map((message) => message.role)).toEqual(['system', 'system', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(stored[4]!.tool_calls[0]!.function.name).toBe('set_variables');
    expect(JSON.parse(stored[5]!.content)).toMatchObject({ result: 'success' });
    expect(stored[6]!.tool_calls[0]!.function.name).toBe('stop_service');
  }, 120_000);

  it('connect_call ends the session and bridges the caller to the destination', async () => {
    const connectScript = {
      script: [
        { say: 'Hello, I will put you through to Bob now.' },
        { tool: 'connect_call', arguments: { destinations: [{ type: 'endpoint', target: 'PJSIP/bob' }] } },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', {
      name: 'transfer',
      engine_model: 'local.scripted',
      init_prompt: JSON.stringify(connectScript),
      tts_type: 'local',
      tool_names: ['connect_call'],
    });
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }] });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const outbound = simulator.nextOutboundCall(60_000);
    const caller = simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880002' });
    await caller.waitForAudio(20_000);
    const bob = await outbound;
    await bob.waitForAnswer(10_000);
    await eventually(() => !simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the AI media leg to go');
    const bobHears = bob.waitForAudio(10_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.5 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / 16_000))));
    await bobHears;
    bob.hangup();
    await caller.waitForHangup(20_000); // After the connect, the flow's hangup runs.
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({
      end_reason: 'hangup action',
      variables: expect.objectContaining({ 'voipbin.connect.answered': 'true' }),
    });
  }, 120_000);

  it('answers bad tool calls with failed results, never errors', async () => {
    const ai = await api('POST', '/v1.0/ais', { name: 'tools', engine_model: 'local.scripted', tool_names: ['get_variables', 'get_aicall_messages'] });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id });
    const execute = (name: string, args: string) =>
      rpcCall<{ result: string; message: string; run_llm: boolean }>(bus, 'ai-manager', 'POST', `/v1/aicalls/${String(aicall.id)}/tool_execute`, { id: 'call-x', name, arguments: args });
    expect(await execute('stop_flow', '{}')).toMatchObject({ result: 'failed', message: 'The tool stop_flow is not enabled for this AI.' });
    expect(await execute('dance', '{}')).toMatchObject({ result: 'failed', message: 'There is no tool named dance.' });
    expect(await execute('get_aicall_messages', '{not json')).toMatchObject({ result: 'failed', message: 'The arguments are not valid JSON.' });
    expect(await execute('get_aicall_messages', '{"aicall_id":"nope"}')).toMatchObject({ result: 'failed', message: expect.stringContaining('Invalid arguments') });
    expect(await execute('get_variables', '{}')).toMatchObject({ result: 'failed', message: 'This AI conversation has no flow variables.' });
    // Another customer's conversation is "not found", like a missing one.
    const missing = await execute('get_aicall_messages', JSON.stringify({ aicall_id: '00000000-0000-4000-8000-000000000000' }));
    expect(missing).toMatchObject({ result: 'failed', message: 'No AIcall with this id.' });
    expect((await execute('get_aicall_messages', JSON.stringify({ aicall_id: aicall.id }))).result).toBe('success');
  });
});
