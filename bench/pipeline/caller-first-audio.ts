/**
 * The caller's end-to-end view: end of the caller's utterance -> first audio the caller hears,
 * through an Asterisk (the simulator, or with BENCH_TELEPHONY=asterisk a real Asterisk 23 built
 * by scripts/asterisk/build.sh, the caller being a phone on it driven over ARI) and the real
 * pipeline (flow-manager answers the call and runs `ai_talk`; pipeline-manager takes the call's
 * audio over RTP external media, as in packages/e2e/src/voice-session.int.test.ts), with the
 * DEFAULT settings: the real Silero VAD with the default `vad_config`, the default
 * `turn_config.end_of_turn` (preemptive answer from 0.2 s of silence, a finished utterance ends
 * after 0.75 s). Provider doubles at typical latencies (turn-bench-platform.ts):
 *
 *   - STT: the final transcript 150 ms after the last loud frame of the speech reached it;
 *   - LLM: first token 350 ms after the request, the rest of the answer at once;
 *   - TTS: first byte 150 ms after a sentence is pushed.
 *
 * The caller (the simulator's scripted caller) speaks espeak-ng questions (one stretch each),
 * waits for the answer and its end, pauses, and speaks again. Per turn:
 *
 *   caller latency   = the caller's last loud frame -> its first loud frame heard;
 *   provider latency = STT (measured by the double: last loud frame in -> final out)
 *                      + LLM (request -> first token) + TTS (first token -> first byte),
 *                      each measured in that turn (pipeline_turn_latency, same clock);
 *   pipeline share   = caller latency - provider latency (so it includes the endpointing wait,
 *                      the transport both ways and everything the pipeline adds);
 *   endpointing wait = the caller's end of speech -> the end of turn decided (turnEndAt).
 *
 * With preemptive generation the providers' work overlaps the endpointing wait, so the share
 * can be small although the wait is 0.75 s.
 *
 *   pnpm tsx bench/pipeline/caller-first-audio.ts [calls=4] [turnsPerCall=10]
 *
 * With BENCH_JSON=<file>, writes caller_first_audio_p50_ms / _p95_ms, provider_latency_sum_ms,
 * endpointing_wait_p50_ms, caller_pipeline_share_p50_ms, ... (on the real Asterisk the keys
 * start with caller_asterisk_).
 */
import { cpus, loadavg } from 'node:os';
import type { TelephonyKind } from '../../packages/asterisk-testing/src/index.ts';
import { spokenPiece } from '../../services/pipeline-manager/src/pipeline/testing/turn-corpus.ts';
import { sharedSileroBatcher } from '../../services/pipeline-manager/src/media/vad/silero-batcher.ts';
import { writeBenchJson } from '../lib/bench-json.ts';
import { startTurnBench, type TurnBenchCall } from './turn-bench-platform.ts';

const calls = Number(process.argv[2] ?? 4);
const turnsPerCall = Number(process.argv[3] ?? 10);
const telephonyKind: TelephonyKind = process.env.BENCH_TELEPHONY === 'asterisk' ? 'asterisk' : 'simulator';
const keyPrefix = telephonyKind === 'asterisk' ? 'caller_asterisk_' : 'caller_';

const STT_FINAL_MS = 150;
const LLM_FIRST_TOKEN_MS = 350;
const TTS_FIRST_BYTE_MS = 150;

const questions = [
  'When do you open tomorrow?',
  'Can I book an appointment for Friday?',
  'How much does a cleaning cost?',
  'Is there parking near the clinic?',
  'Do you take my insurance?',
  'Can I bring my daughter along?',
  'What is your address?',
  'Please call me back this afternoon.',
  'I would like to speak to the doctor.',
  'Thank you very much.',
];

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

interface TurnResult {
  callerMs: number;
  providerMs?: number;
  sttMs?: number;
  llmMs?: number;
  ttsMs?: number;
  endpointingWaitMs?: number;
  preemptive?: boolean;
}

const audio = await Promise.all(questions.map((question) => spokenPiece(question)));
const script = Array.from({ length: turnsPerCall }, (_, turn) => questions[turn % questions.length]!);
const bench = await startTurnBench({ telephonyKind, sttFinalMs: STT_FINAL_MS, llmFirstTokenMs: LLM_FIRST_TOKEN_MS, ttsFirstByteMs: TTS_FIRST_BYTE_MS });

async function runCall(index: number): Promise<TurnResult[]> {
  const call: TurnBenchCall = await bench.placeCall(index, script);
  const { caller } = call;
  const results: TurnResult[] = [];
  // Callers start at different moments, as independent calls do.
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 500));
  for (let turn = 0; turn < turnsPerCall; turn++) {
    const answered = caller.responseLatenciesMs.length;
    await caller.play(audio[turn % audio.length]!);
    const heardAt = caller.startedAt + (await caller.waitForAudio(10_000));
    if (caller.responseLatenciesMs.length <= answered) throw new Error('the caller heard audio but measured no response latency');
    const callerMs = caller.responseLatenciesMs.at(-1)!;
    const endedAt = heardAt - callerMs;
    await caller.waitForSilence(10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The pipeline's turn 1 is the greeting, so the caller's utterance `turn` (from 0) is its turn + 2.
    const latency = call.latencies.get(turn + 2);
    const stt = call.sttFinals[turn];
    const result: TurnResult = { callerMs };
    if (latency?.llmRequestAt !== undefined && latency.llmFirstTokenAt !== undefined && latency.ttsFirstByteAt !== undefined && stt) {
      result.sttMs = stt.latencyMs;
      result.llmMs = latency.llmFirstTokenAt - latency.llmRequestAt;
      result.ttsMs = latency.ttsFirstByteAt - latency.llmFirstTokenAt;
      result.providerMs = result.sttMs + result.llmMs + result.ttsMs;
      if (latency.turnEndAt !== undefined) result.endpointingWaitMs = latency.turnEndAt - endedAt;
      result.preemptive = latency.preemptive === true;
    }
    results.push(result);
    await new Promise((resolve) => setTimeout(resolve, 200 + Math.random() * 300));
  }
  caller.hangup();
  return results;
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]!.toFixed(2)}; node ${process.version}; ${telephonyKind === 'asterisk' ? 'real Asterisk 23' : 'Asterisk simulator'}; ` +
    `${calls} concurrent call(s) x ${turnsPerCall} turns; default vad_config (real Silero) and turn_config; doubles: STT final ${STT_FINAL_MS} ms, LLM first token ${LLM_FIRST_TOKEN_MS} ms, TTS first byte ${TTS_FIRST_BYTE_MS} ms`,
);
let results: TurnResult[];
let failure: unknown;
let discarded: number | undefined;
try {
  const settled = await Promise.allSettled(Array.from({ length: calls }, (_, index) => runCall(index)));
  results = settled.flatMap((entry) => (entry.status === 'fulfilled' ? entry.value : []));
  failure = settled.find((entry): entry is PromiseRejectedResult => entry.status === 'rejected')?.reason;
  discarded = await bench.metric('pipeline_manager_preemptive_discarded_total');
} finally {
  await bench.close();
  // The shared Silero batcher's worker keeps a message port open: close it so the process ends.
  await sharedSileroBatcher().close();
}

const defined = (values: (number | undefined)[]) => values.filter((value): value is number => value !== undefined);
const stat = (values: (number | undefined)[]) => {
  const list = defined(values);
  return { p50: percentile(list, 50), p95: percentile(list, 95), n: list.length };
};
const callerMs = results.map((result) => result.callerMs);
const measured = results.filter((result) => result.providerMs !== undefined);
const share = measured.map((result) => result.callerMs - result.providerMs!);
const parts = {
  'STT: last loud frame in -> final (150 ms double)': stat(measured.map((result) => result.sttMs)),
  'LLM: request -> first token (350 ms double)': stat(measured.map((result) => result.llmMs)),
  'TTS: first token -> first byte (150 ms double)': stat(measured.map((result) => result.ttsMs)),
  'provider latency sum (per turn)': stat(measured.map((result) => result.providerMs)),
  'endpointing wait: end of speech -> end of turn': stat(measured.map((result) => result.endpointingWaitMs)),
};
const format = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');
const providerSum = parts['provider latency sum (per turn)'].p50;
const p50 = percentile(callerMs, 50);
console.log(`end of caller utterance -> first audio heard: n=${callerMs.length} p50 ${format(p50)} ms, p95 ${format(percentile(callerMs, 95))} ms, max ${format(Math.max(...callerMs))} ms`);
console.log(`target: p50 <= provider latency sum + 250 ms = ${format(providerSum + 250)} ms: ${p50 <= providerSum + 250 ? 'met' : 'NOT met'}`);
console.log(`pipeline's share (caller latency - provider latency measured per turn): n=${share.length} p50 ${format(percentile(share, 50))} ms, p95 ${format(percentile(share, 95))} ms`);
console.log(`answers prepared ahead: ${measured.filter((result) => result.preemptive).length} of ${measured.length} turns; dropped because the caller went on: ${discarded ?? '-'}`);
console.log('per turn, p50 / p95 ms:');
for (const [name, value] of Object.entries(parts)) console.log(`  ${name.padEnd(50)} ${format(value.p50).padStart(7)} / ${format(value.p95).padStart(7)}`);
const unprefixed = keyPrefix === 'caller_';
writeBenchJson({
  [`${keyPrefix}calls`]: calls,
  [`${keyPrefix}turns`]: callerMs.length,
  [`${keyPrefix}first_audio_p50_ms`]: callerMs.length > 0 ? p50 : null,
  [`${keyPrefix}first_audio_p95_ms`]: callerMs.length > 0 ? percentile(callerMs, 95) : null,
  [`${keyPrefix}first_audio_max_ms`]: callerMs.length > 0 ? Math.max(...callerMs) : null,
  [`${keyPrefix}pipeline_share_p50_ms`]: share.length > 0 ? percentile(share, 50) : null,
  [`${keyPrefix}pipeline_share_p95_ms`]: share.length > 0 ? percentile(share, 95) : null,
  [unprefixed ? 'provider_latency_sum_ms' : `${keyPrefix}provider_latency_sum_ms`]: providerSum,
  [unprefixed ? 'endpointing_wait_p50_ms' : `${keyPrefix}endpointing_wait_p50_ms`]: parts['endpointing wait: end of speech -> end of turn'].p50,
  [`${keyPrefix}stt_final_p50_ms`]: parts['STT: last loud frame in -> final (150 ms double)'].p50,
  [`${keyPrefix}llm_first_token_p50_ms`]: parts['LLM: request -> first token (350 ms double)'].p50,
  [`${keyPrefix}tts_first_byte_p50_ms`]: parts['TTS: first token -> first byte (150 ms double)'].p50,
  [`${keyPrefix}preemptive_discarded`]: discarded ?? null,
});
if (failure) {
  console.error(`a call failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  process.exitCode = 1;
}
