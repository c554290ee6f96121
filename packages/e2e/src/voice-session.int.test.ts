import { randomUUID } from 'node:crypto';
import { startAsteriskSimulator, type AsteriskSimulator } from '@avp/asterisk-simulator';
import { createFlowManager, type FlowManager } from '@avp/flow-manager';
import { createPipelineManager, registryProviders, type PipelineManager } from '@avp/pipeline-manager';
import { FakeLlm, words } from '@avp/pipeline-manager/testing';
import {
  appError,
  createDatabase,
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
import { createTestPgliteDatabase, eventually, freePort, type TestPgliteDatabase } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const customerId = randomUUID();
const key = `key-${randomUUID()}`;

/**
 * A voice AI call across the services: flow-manager answers a simulated call and runs
 * `ai_talk`; a stand-in for ai-manager's session start asks pipeline-manager for a pipeline;
 * the pipeline takes the call's audio over RTP external media, greets (espeak-ng), hears the
 * caller, answers, calls the stop_service tool, and the flow goes on after `ai_talk`.
 */
describe('a voice AI session across flow-manager and pipeline-manager', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let simulator: AsteriskSimulator;
  let flowManager: FlowManager;
  let pipelineManager: PipelineManager;
  let app: FastifyInstance;
  const stored: { role: string; content: string; tool_call_id?: string }[] = [];
  const statuses: string[] = [];
  const pipelineEvents: EventEnvelope[] = [];
  const toolCalls: { name: string; arguments: string }[] = [];
  const app_ = `avp-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    bus = createInProcessBus();
    simulator = await startAsteriskSimulator({ ariUser: 'asterisk', ariPassword: 'secret' });
    const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-1` });

    // ai-manager's part, reduced to what this test needs: keys, session start, records, tools.
    const sessionActivity = new Map<string, string>();
    const aiManager = createRpcRouter()
      .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId };
      })
      .add('POST', '/v1/services/type/aicall', async ({ data }) => {
        const body = data as { activeflow_id: string; reference_id: string };
        const aicallId = randomUUID();
        sessionActivity.set(aicallId, body.activeflow_id);
        await rpcCall(bus, 'pipeline-manager', 'POST', '/v1/pipelines', {
          aicall_id: aicallId,
          customer_id: customerId,
          activeflow_id: body.activeflow_id,
          call_id: body.reference_id,
          ai: { engine_model: 'test.fake', tts_type: 'local', stt_language: 'en-US' },
          messages: [{ role: 'system', content: 'You are a test receptionist.' }],
          tools: [{ name: 'stop_service', description: 'Ends the AI conversation.', parameters: { type: 'object', properties: {} } }],
        }, { timeoutMs: 20_000 });
        return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
      })
      .add('POST', '/v1/aicalls/:id/status', async ({ data }) => {
        statuses.push((data as { status: string }).status);
        return {};
      })
      .add('POST', '/v1/aimessages', async ({ data }) => {
        stored.push(data as (typeof stored)[number]);
        return {};
      })
      .add('POST', '/v1/aimessages/intermediate', async () => ({}))
      .add('POST', '/v1/usages', async () => ({}))
      .add('POST', '/v1/aicalls/:id/tool_execute', async ({ params, data }) => {
        const call = data as { id: string; name: string; arguments: string };
        toolCalls.push({ name: call.name, arguments: call.arguments });
        await rpcCall(bus, 'flow-manager', 'POST', `/v1/activeflows/${sessionActivity.get(params.id!)}/service_stop`, { service_id: params.id });
        return { tool_call_id: call.id, result: 'success', message: 'The AI session ends; the flow goes on.', run_llm: false, end_session: 'stop_service' };
      });
    await bus.serve('ai-manager', aiManager.handle);
    await bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-pipeline-events' });

    const port = await freePort();
    flowManager = await createFlowManager(context('flow-manager'), {
      ari: { connection: { url: simulator.url, user: 'asterisk', password: 'secret', app: app_ }, mediaBaseUrl: `http://127.0.0.1:${port}` },
    });
    pipelineManager = await createPipelineManager(context('pipeline-manager'), {
      createVad: async () => loudnessVad(),
      providers: {
        llm: () =>
          new FakeLlm([
            words('Hello, this is the test clinic. How can I help?'),
            [
              { type: 'text-delta', text: 'Goodbye, I will hand you back now. ' },
              { type: 'tool-call', id: 'call-1', name: 'stop_service', arguments: '{}' },
              { type: 'done', finishReason: 'tool-calls' },
            ],
          ]),
        stt: () => scriptedStt(['I would like to stop now.']),
        tts: (ai) => registryProviders.tts(ai),
      },
    });
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await app.listen({ port, host: '127.0.0.1' });
    await flowManager.start();
    await pipelineManager.start();
    await simulator.waitForApp(app_);
  }, 60_000);

  afterAll(async () => {
    await pipelineManager?.stop();
    await flowManager?.stop();
    await app?.close();
    await simulator?.close();
    await bus?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    return response.json() as Record<string, unknown>;
  }

  it('greets, listens, answers, runs a tool and hands the call back to the flow', async () => {
    const flow = await api('POST', '/v1.0/flows', {
      actions: [
        { type: 'answer' },
        { type: 'ai_talk', option: { ai_id: randomUUID() } },
        { type: 'talk', option: { text: 'You are back in the flow. Goodbye.' } },
        { type: 'hangup' },
      ],
    });
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });

    const caller = simulator.placeCall({ app: app_, extension: number, callerNumber: '+15557770000' });
    await caller.waitForAnswer(10_000);
    await caller.waitForAudio(20_000); // The AI's greeting, spoken by espeak-ng over RTP.
    await caller.waitForSilence(20_000);
    await eventually(() => stored.some((message) => message.role === 'assistant'), 'the greeting to be stored');

    // The caller speaks; the STT double recognises it after the pause.
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await eventually(() => toolCalls.length === 1, 'the stop_service tool call', 20_000);
    await caller.waitForHangup(30_000);

    expect(statuses).toContain('progressing');
    expect(stored.map((message) => message.role)).toEqual(['assistant', 'user', 'assistant', 'tool']);
    expect(stored[0]!.content).toBe('Hello, this is the test clinic. How can I help?');
    expect(stored[1]!.content).toBe('I would like to stop now.');
    await eventually(() => pipelineEvents.some((event) => event.type === 'pipeline_terminated'), 'the pipeline to end');
    expect(pipelineEvents.find((event) => event.type === 'pipeline_terminated')!.data).toMatchObject({ reason: 'stop_service' });
    expect(pipelineEvents.some((event) => event.type === 'pipeline_turn_latency')).toBe(true);

    // The flow went on after ai_talk: the talk and the hangup ran, the media leg is gone.
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const call = calls.result.find((entry) => entry.channel_id === caller.id)!;
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).toMatchObject({ end_reason: 'hangup action' });
    expect(simulator.channels().filter((channel) => channel.name.startsWith('UnicastRTP'))).toEqual([]);
    expect(pipelineManager.sessions.size).toBe(0);
  }, 90_000);
});
