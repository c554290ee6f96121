/**
 * The caller's end-to-end view: end of the caller's utterance -> first audio the caller hears,
 * through an Asterisk (the simulator, or with BENCH_TELEPHONY=asterisk a real Asterisk 23 built
 * by scripts/asterisk/build.sh, the caller being a phone on it driven over ARI) and the real pipeline (flow-manager answers the call and runs
 * `ai_talk`; pipeline-manager takes the call's audio over RTP external media, as in
 * packages/e2e/src/voice-session.int.test.ts), with provider doubles set to typical latencies:
 *
 *   - STT: the final transcript (and endpoint) 150 ms after the last speech frame reached it;
 *   - LLM: first token 350 ms after the request (FakeLlm), the rest of the answer at once;
 *   - TTS: first byte 150 ms after a sentence is pushed (FakeTts);
 *   - VAD: a loudness double that ends the caller's speech after `vadStopMs` (default 100 ms)
 *     of quiet, i.e. before the STT final, so the turn ends on the STT final and no VAD wait is
 *     added (with a longer stop the turn waits for the VAD: see "endpointing wait" below).
 *
 * The caller (the simulator's scripted caller) speaks a 0.8 s tone, waits for the answer and
 * its end, pauses, and speaks again. Per turn it reports the caller's latency and a breakdown
 * from the pipeline's own `pipeline_turn_latency` event (same process, same clock):
 *
 *   pipeline share = caller latency - 650 ms (the doubles' STT + LLM + TTS latency)
 *                    - endpointing wait (time the turn waited for the VAD's end of speech
 *                      after the STT final: max(0, VAD stop - STT final); 0 with the defaults)
 *
 * The pipeline share therefore holds: RTP uplink through the simulator and the jitter buffer,
 * decode/resample, the turn start, sentence splitting, framing, the output queue and 20 ms
 * pacing, RTP downlink, the simulator's bridge, and the caller noticing the first loud frame.
 * bench/pipeline/overhead.ts measures the pipeline alone (no transport); the simulator bench
 * measures the simulator's own share of a round trip.
 *
 *   pnpm tsx bench/pipeline/caller-first-audio.ts [calls=4] [turnsPerCall=10] [vadStopMs=100]
 *   BENCH_TELEPHONY=asterisk pnpm tsx bench/pipeline/caller-first-audio.ts ...
 *
 * `calls` callers run at the same time (each its own pipeline). With BENCH_JSON=<file>, also
 * writes the figures as JSON (caller_first_audio_p50_ms, caller_pipeline_share_p50_ms, ...; on
 * the real Asterisk the keys start with caller_asterisk_). On the real Asterisk the pipeline's
 * share also holds the second RTP hop of the phone's own leg (phone -> Local channel -> bridge).
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
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
} from '../../packages/shared/src/index.ts';
import { createTestPgliteDatabase, eventually, freePort } from '../../packages/shared/src/testing/index.ts';
import { createFlowManager } from '../../services/flow-manager/src/index.ts';
import { createPipelineManager } from '../../services/pipeline-manager/src/index.ts';
import type { SttEvent, SttProvider } from '../../services/pipeline-manager/src/index.ts';
import type { TurnLatency } from '../../services/pipeline-manager/src/pipeline/conversation.ts';
import { AsyncQueue, FakeLlm, FakeTts, frameRms, loudnessVad, words, type ScriptedAnswer } from '../../services/pipeline-manager/src/pipeline/testing/fakes.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const calls = Number(process.argv[2] ?? 4);
const turnsPerCall = Number(process.argv[3] ?? 10);
const vadStopMs = Number(process.argv[4] ?? 100);
const telephonyKind: TelephonyKind = process.env.BENCH_TELEPHONY === 'asterisk' ? 'asterisk' : 'simulator';
const keyPrefix = telephonyKind === 'asterisk' ? 'caller_asterisk_' : 'caller_';

const STT_FINAL_MS = 150;
const LLM_FIRST_TOKEN_MS = 350;
const TTS_FIRST_BYTE_MS = 150;
const FAKE_LATENCY_MS = STT_FINAL_MS + LLM_FIRST_TOKEN_MS + TTS_FIRST_BYTE_MS;
const LOUD = 1500;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** An STT double: the final (and endpoint) `latencyMs` after the last loud frame of a stretch of speech arrived. */
function typicalStt(latencyMs: number): SttProvider {
  return {
    name: 'bench.stt',
    async start() {
      const events = new AsyncQueue<SttEvent>();
      let loud = 0;
      let lastLoudAt = 0;
      let utterance = 0;
      return {
        events,
        write(pcm) {
          if (frameRms(pcm) > LOUD) {
            loud++;
            lastLoudAt = performance.now();
            return;
          }
          if (loud < 10) {
            loud = 0;
            return;
          }
          loud = 0;
          utterance++;
          const text = `Question number ${utterance}?`;
          setTimeout(() => {
            events.push({ type: 'final', text });
            events.push({ type: 'endpoint' });
          }, Math.max(0, lastLoudAt + latencyMs - performance.now()));
        },
        finish: async () => events.end(),
        close: () => events.end(),
      };
    },
  };
}

/** The LLM double of one call: an instant greeting, then answers whose first token comes after 350 ms. */
function typicalLlm(turns: number): FakeLlm {
  const answer = (): ScriptedAnswer => {
    const parts = words('Sure, I can help with that. What else?');
    parts[0]![0] = LLM_FIRST_TOKEN_MS;
    return parts;
  };
  return new FakeLlm([words('Hello.'), ...Array.from({ length: turns + 2 }, answer)]);
}

const tone = (seconds: number): Int16Array =>
  Int16Array.from({ length: Math.round(16_000 * seconds) }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

// ---- the platform: the telephony, flow-manager, pipeline-manager, and ai-manager's part as a stub ----

const customerId = randomUUID();
const key = `key-${randomUUID()}`;
const appName = `bench-${randomUUID().slice(0, 8)}`;
const testDatabase = await createTestPgliteDatabase();
const database = await createDatabase(testDatabase.options);
const bus = createInProcessBus();
const telephony = await startTestTelephony(telephonyKind, { ariApp: appName, ariUser: 'asterisk', ariPassword: 'secret' });
const context = (name: string) => ({ database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `${name}-1` });
/** AIcall of each activeflow (the stub starts the sessions). */
const aicallOfActiveflow = new Map<string, string>();
const aiManager = createRpcRouter()
  .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
    if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
    return { customer_id: customerId };
  })
  .add('POST', '/v1/services/type/aicall', async ({ data }) => {
    const body = data as { activeflow_id: string; reference_id: string };
    const aicallId = randomUUID();
    aicallOfActiveflow.set(body.activeflow_id, aicallId);
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
        ai: { engine_model: 'test.fake', tts_type: 'local', stt_language: 'en-US' },
        messages: [{ role: 'system', content: 'You are a benchmark receptionist.' }],
        tools: [],
      },
      { timeoutMs: 20_000 },
    );
    return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
  })
  .add('POST', '/v1/aicalls/:id/status', async () => ({}))
  .add('POST', '/v1/aimessages', async () => ({}))
  .add('POST', '/v1/aimessages/intermediate', async () => ({}))
  .add('POST', '/v1/usages', async () => ({}));
await bus.serve('ai-manager', aiManager.handle);
/** pipeline_turn_latency events by AIcall, by turn. */
const latencies = new Map<string, Map<number, TurnLatency>>();
await bus.subscribe(
  'pipeline-manager',
  ['#'],
  async (event) => {
    if (event.type !== 'pipeline_turn_latency') return;
    const data = event.data as TurnLatency & { aicall_id: string };
    if (!latencies.has(data.aicall_id)) latencies.set(data.aicall_id, new Map());
    latencies.get(data.aicall_id)!.set(data.turn, data);
  },
  { queue: 'bench-pipeline-events' },
);
const port = await freePort();
const flowManager = await createFlowManager(context('flow-manager'), {
  ari: { connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: appName }, mediaBaseUrl: `http://127.0.0.1:${port}` },
});
const pipelineManager = await createPipelineManager(context('pipeline-manager'), {
  createVad: async () => loudnessVad({ startFrames: 3, stopMs: vadStopMs, threshold: LOUD }),
  providers: {
    llm: () => typicalLlm(turnsPerCall),
    stt: () => typicalStt(STT_FINAL_MS),
    tts: () => new FakeTts(10, TTS_FIRST_BYTE_MS),
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

interface TurnResult {
  /** End of the caller's utterance -> first audio heard (the caller's measure). */
  callerMs: number;
  /** The breakdown from the pipeline's turn latency event, when it arrived. */
  endpointWaitMs?: number;
  uplinkAndSttMs?: number;
  turnStartMs?: number;
  llmMs?: number;
  ttsMs?: number;
  framingMs?: number;
  downlinkMs?: number;
}

/** One caller: `turns` utterances, each answered; returns per-turn results. */
async function runCall(index: number): Promise<TurnResult[]> {
  const flow = await api('POST', '/v1.0/flows', {
    actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: randomUUID() } }, { type: 'hangup' }],
  });
  const number = `+1555${String(index).padStart(3, '0')}${Math.floor(Math.random() * 1e4)}`;
  await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
  const caller = telephony.placeCall({ extension: number, callerNumber: '+15550000000' });
  await caller.waitForAnswer(10_000);
  await caller.waitForAudio(20_000); // The greeting: the media path works both ways.
  await caller.waitForSilence(20_000);
  let aicallId = '';
  await eventually(async () => {
    const list = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = list.result.find((entry) => entry.channel_id === caller.id)?.activeflow_id ?? '';
    aicallId = aicallOfActiveflow.get(activeflowId) ?? '';
    return aicallId !== '';
  }, 'the AIcall of the call');
  const results: TurnResult[] = [];
  // Callers start at different moments, as independent calls do.
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 500));
  for (let turn = 0; turn < turnsPerCall; turn++) {
    const answered = caller.responseLatenciesMs.length;
    await caller.play(tone(0.8));
    const heardAt = caller.startedAt + (await caller.waitForAudio(10_000));
    if (caller.responseLatenciesMs.length <= answered) throw new Error('the caller heard audio but measured no response latency');
    const callerMs = caller.responseLatenciesMs.at(-1)!;
    const endedAt = heardAt - callerMs;
    await caller.waitForSilence(10_000);
    // The pipeline's turn 1 is the greeting, so the caller's utterance `turn` (from 0) is its turn + 2.
    const latency = latencies.get(aicallId)?.get(turn + 2);
    const result: TurnResult = { callerMs };
    if (latency?.sttFinalAt !== undefined && latency.llmRequestAt !== undefined && latency.firstAudioAt !== undefined) {
      const vadWait = latency.userStoppedAt !== undefined && latency.userStoppedAt <= latency.llmRequestAt ? latency.userStoppedAt - latency.sttFinalAt : 0;
      result.endpointWaitMs = Math.max(0, vadWait);
      result.uplinkAndSttMs = latency.sttFinalAt - endedAt;
      result.turnStartMs = latency.llmRequestAt - latency.sttFinalAt;
      if (latency.llmFirstTokenAt !== undefined) result.llmMs = latency.llmFirstTokenAt - latency.llmRequestAt;
      if (latency.llmFirstTokenAt !== undefined && latency.ttsFirstByteAt !== undefined) result.ttsMs = latency.ttsFirstByteAt - latency.llmFirstTokenAt;
      if (latency.ttsFirstByteAt !== undefined) result.framingMs = latency.firstAudioAt - latency.ttsFirstByteAt;
      result.downlinkMs = heardAt - latency.firstAudioAt;
    }
    results.push(result);
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
  }
  caller.hangup();
  return results;
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]!.toFixed(2)}; node ${process.version}; ${telephonyKind === 'asterisk' ? 'real Asterisk 23' : 'Asterisk simulator'}; ` +
    `${calls} concurrent call(s) x ${turnsPerCall} turns; doubles: STT final ${STT_FINAL_MS} ms, LLM first token ${LLM_FIRST_TOKEN_MS} ms, TTS first byte ${TTS_FIRST_BYTE_MS} ms, VAD stop ${vadStopMs} ms`,
);
let results: TurnResult[];
let failure: unknown;
try {
  const settled = await Promise.allSettled(Array.from({ length: calls }, (_, index) => runCall(index)));
  results = settled.flatMap((entry) => (entry.status === 'fulfilled' ? entry.value : []));
  failure = settled.find((entry): entry is PromiseRejectedResult => entry.status === 'rejected')?.reason;
} finally {
  await pipelineManager.stop();
  await flowManager.stop();
  await app.close();
  await telephony.close();
  await bus.close();
  await database.close();
  await testDatabase.drop();
}

const callerMs = results.map((result) => result.callerMs);
const withBreakdown = results.filter((result) => result.endpointWaitMs !== undefined);
const share = withBreakdown.map((result) => result.callerMs - FAKE_LATENCY_MS - result.endpointWaitMs!);
const stat = (values: (number | undefined)[]) => {
  const defined = values.filter((value): value is number => value !== undefined);
  return { p50: percentile(defined, 50), p95: percentile(defined, 95), n: defined.length };
};
const parts = {
  'uplink + STT final (150 ms double)': stat(withBreakdown.map((result) => result.uplinkAndSttMs)),
  'STT final -> LLM request (turn start)': stat(withBreakdown.map((result) => result.turnStartMs)),
  '  of which endpointing wait for the VAD': stat(withBreakdown.map((result) => result.endpointWaitMs)),
  'LLM request -> first token (350 ms double)': stat(withBreakdown.map((result) => result.llmMs)),
  'first token -> TTS first byte (150 ms double)': stat(withBreakdown.map((result) => result.ttsMs)),
  'TTS first byte -> first frame queued': stat(withBreakdown.map((result) => result.framingMs)),
  'first frame queued -> heard by the caller': stat(withBreakdown.map((result) => result.downlinkMs)),
};
const format = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
console.log(`end of caller utterance -> first audio heard: n=${callerMs.length} p50 ${format(percentile(callerMs, 50))} ms, p95 ${format(percentile(callerMs, 95))} ms, max ${format(Math.max(...callerMs))} ms`);
console.log(
  `pipeline's share (caller latency - ${FAKE_LATENCY_MS} ms of provider doubles - endpointing wait): n=${share.length} p50 ${format(percentile(share, 50))} ms, p95 ${format(percentile(share, 95))} ms`,
);
console.log('breakdown per turn (from the pipeline_turn_latency event, same clock), p50 / p95 ms:');
for (const [name, value] of Object.entries(parts)) console.log(`  ${name.padEnd(48)} ${format(value.p50).padStart(7)} / ${format(value.p95).padStart(7)}`);
writeBenchJson({
  [`${keyPrefix}calls`]: calls,
  [`${keyPrefix}turns`]: callerMs.length,
  [`${keyPrefix}fake_latency_ms`]: FAKE_LATENCY_MS,
  [`${keyPrefix}vad_stop_ms`]: vadStopMs,
  [`${keyPrefix}first_audio_p50_ms`]: callerMs.length > 0 ? percentile(callerMs, 50) : null,
  [`${keyPrefix}first_audio_p95_ms`]: callerMs.length > 0 ? percentile(callerMs, 95) : null,
  [`${keyPrefix}first_audio_max_ms`]: callerMs.length > 0 ? Math.max(...callerMs) : null,
  [`${keyPrefix}pipeline_share_p50_ms`]: share.length > 0 ? percentile(share, 50) : null,
  [`${keyPrefix}pipeline_share_p95_ms`]: share.length > 0 ? percentile(share, 95) : null,
  [`${keyPrefix}endpoint_wait_p50_ms`]: parts['  of which endpointing wait for the VAD'].p50,
  [`${keyPrefix}uplink_stt_p50_ms`]: parts['uplink + STT final (150 ms double)'].p50,
  [`${keyPrefix}turn_start_p50_ms`]: parts['STT final -> LLM request (turn start)'].p50,
  [`${keyPrefix}llm_first_token_p50_ms`]: parts['LLM request -> first token (350 ms double)'].p50,
  [`${keyPrefix}tts_first_byte_p50_ms`]: parts['first token -> TTS first byte (150 ms double)'].p50,
  [`${keyPrefix}framing_p50_ms`]: parts['TTS first byte -> first frame queued'].p50,
  [`${keyPrefix}downlink_p50_ms`]: parts['first frame queued -> heard by the caller'].p50,
});
if (failure) {
  console.error(`a call failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  process.exitCode = 1;
}
