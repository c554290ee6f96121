/**
 * The platform the turn benchmarks call into: a telephony (the Asterisk simulator, or with
 * BENCH_TELEPHONY=asterisk a real Asterisk 23), flow-manager answering and running `ai_talk`,
 * pipeline-manager with its default VAD (real Silero, default `vad_config`) and default
 * `turn_config`, and ai-manager's part as a stub. Providers are doubles at typical latencies:
 * an STT that gives each stretch of the caller's speech the next piece of the call's script
 * `sttFinalMs` after its last loud frame, an LLM whose first token comes `llmFirstTokenMs`
 * after the request, a TTS whose first byte comes `ttsFirstByteMs` after a sentence.
 */
import { randomUUID } from 'node:crypto';
import type { Caller } from '../../packages/asterisk-simulator/src/index.ts';
import { startTestTelephony, type TelephonyKind } from '../../packages/asterisk-testing/src/index.ts';
import {
  appError,
  createDatabase,
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  createRpcRouter,
  rpcCall,
  silentLogger,
  type TurnConfig,
} from '../../packages/shared/src/index.ts';
import { createTestPgliteDatabase, eventually, freePort } from '../../packages/shared/src/testing/index.ts';
import { createFlowManager } from '../../services/flow-manager/src/index.ts';
import { createPipelineManager } from '../../services/pipeline-manager/src/index.ts';
import type { TurnLatency } from '../../services/pipeline-manager/src/pipeline/conversation.ts';
import { FakeTts } from '../../services/pipeline-manager/src/pipeline/testing/fakes.ts';
import { scriptedStt, typicalLlm } from '../../services/pipeline-manager/src/pipeline/testing/turn-doubles.ts';

export interface TurnBenchOptions {
  telephonyKind: TelephonyKind;
  sttFinalMs: number;
  llmFirstTokenMs: number;
  ttsFirstByteMs: number;
  /** The AI's turn_config (default: none, the pipeline's defaults). */
  turnConfig?: TurnConfig;
}

/** One live call into the platform. */
export interface TurnBenchCall {
  caller: Caller;
  aicallId: string;
  /** The STT double's finals, in order, with their measured latency. */
  sttFinals: { text: string; latencyMs: number }[];
  /** The pipeline's turn latencies by turn (turn 1 is the greeting). */
  latencies: Map<number, TurnLatency>;
}

export interface TurnBench {
  /** Calls in; the STT double hears `script` (one entry per stretch of speech). Resolves once the greeting has played. */
  placeCall(index: number, script: readonly string[]): Promise<TurnBenchCall>;
  /** A counter or gauge of pipeline-manager's metrics (summed over labels); undefined when it has none. */
  metric(name: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startTurnBench(options: TurnBenchOptions): Promise<TurnBench> {
  const customerId = randomUUID();
  const key = `key-${randomUUID()}`;
  const appName = `bench-${randomUUID().slice(0, 8)}`;
  const testDatabase = await createTestPgliteDatabase();
  const database = await createDatabase(testDatabase.options);
  const bus = createInProcessBus();
  const telephony = await startTestTelephony(options.telephonyKind, { ariApp: appName, ariUser: 'asterisk', ariPassword: 'secret' });
  const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-1` });
  /** Per AI id (one per call): its script and what its STT double measured. */
  const calls = new Map<string, { script: readonly string[]; sttFinals: { text: string; latencyMs: number }[]; aicallId?: string }>();
  const latencies = new Map<string, Map<number, TurnLatency>>();
  const aiManager = createRpcRouter()
    .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
      return { customer_id: customerId };
    })
    .add('POST', '/v1/services/type/aicall', async ({ data }) => {
      const body = data as { activeflow_id: string; reference_id: string; assistance_id: string };
      const aicallId = randomUUID();
      calls.get(body.assistance_id)!.aicallId = aicallId;
      await rpcCall(
        bus,
        'pipeline-manager',
        'POST',
        '/v1/pipelines',
        {
          aicall_id: aicallId,
          customer_id: customerId,
          activeflow_id: body.activeflow_id,
          call_id: body.reference_id,
          ai: {
            engine_model: 'test.fake',
            tts_type: 'local',
            stt_language: 'en-US',
            parameter: { bench_ai: body.assistance_id },
            ...(options.turnConfig ? { turn_config: options.turnConfig } : {}),
          },
          messages: [{ role: 'system', content: 'You are a benchmark receptionist.' }],
          tools: [],
        },
        { timeoutMs: 20_000 },
      );
      return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
    })
    // flow-manager checks the AI a flow names when the flow is saved: every one is the customer's here.
    .add('GET', '/v1/ais/:id', async ({ params }) => ({ id: params.id, customer_id: customerId }))
    .add('POST', '/v1/aicalls/:id/status', async () => ({}))
    .add('POST', '/v1/aimessages', async () => ({}))
    .add('POST', '/v1/aimessages/intermediate', async () => ({}))
    .add('POST', '/v1/usages', async () => ({}));
  await bus.serve('ai-manager', aiManager.handle);
  await bus.subscribe(
    'pipeline-manager',
    ['#'],
    async (event) => {
      const data = event.data as TurnLatency & { aicall_id: string };
      if (event.type === 'pipeline_turn_latency') {
        if (!latencies.has(data.aicall_id)) latencies.set(data.aicall_id, new Map());
        latencies.get(data.aicall_id)!.set(data.turn, data);
      }
    },
    { queue: 'bench-turn-events' },
  );
  const port = await freePort();
  const flowManager = await createFlowManager(context('flow-manager'), {
    ari: { connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: appName }, mediaBaseUrl: `http://127.0.0.1:${port}` },
  });
  const sttOf = (ai: { parameter?: Record<string, unknown> }) => calls.get(String(ai.parameter?.bench_ai ?? ''));
  const pipelineContext = context('pipeline-manager');
  const pipelineManager = await createPipelineManager(pipelineContext, {
    providers: {
      llm: () => typicalLlm({ firstTokenMs: options.llmFirstTokenMs }),
      stt: (ai) => {
        const call = sttOf(ai);
        return scriptedStt({ script: call?.script ?? [], finalLatencyMs: options.sttFinalMs, measured: call?.sttFinals });
      },
      tts: () => new FakeTts(10, options.ttsFirstByteMs),
    },
  });
  const app = createHttpServer({ logger: silentLogger() });
  await flowManager.registerRoutes(app);
  await app.listen({ port, host: '127.0.0.1' });
  await flowManager.start();
  await pipelineManager.start();
  await telephony.waitForApp();

  async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
    const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    const json = response.json() as Record<string, unknown>;
    if (response.statusCode >= 400) throw new Error(`${method} ${url}: ${response.statusCode} ${JSON.stringify(json)}`);
    return json;
  }

  return {
    async placeCall(index, script) {
      const aiId = randomUUID();
      const record = { script, sttFinals: [] as { text: string; latencyMs: number }[] } as { script: readonly string[]; sttFinals: { text: string; latencyMs: number }[]; aicallId?: string };
      calls.set(aiId, record);
      const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }] });
      const number = `+1555${String(index).padStart(3, '0')}${Math.floor(Math.random() * 1e4)}`;
      await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15550000000' });
      await caller.waitForAnswer(10_000);
      await caller.waitForAudio(20_000); // The greeting: the media path works both ways.
      await caller.waitForSilence(20_000);
      await eventually(() => record.aicallId !== undefined, 'the AIcall of the call');
      const aicallId = record.aicallId!;
      if (!latencies.has(aicallId)) latencies.set(aicallId, new Map());
      return { caller, aicallId, sttFinals: record.sttFinals, latencies: latencies.get(aicallId)! };
    },
    async metric(name) {
      const found = (await pipelineContext.metrics.getMetricsAsJSON()).find((entry) => entry.name === name);
      return found ? found.values.reduce((sum, value) => sum + value.value, 0) : undefined;
    },
    async close() {
      await pipelineManager.stop();
      await flowManager.stop();
      await app.close();
      await telephony.close();
      await bus.close();
      await database.close();
      await testDatabase.drop();
    },
  };
}
