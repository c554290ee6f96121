/**
 * The conversation pipeline's own overhead, with zero-latency provider fakes: from the STT
 * final transcript to the first audio frame handed to the transport, at 1 and at N
 * concurrent calls (each caller pauses 0-300 ms at random before speaking, so turns do not
 * all start in the same millisecond); and the barge-in reaction, from the VAD decision to the moment the
 * transport's queue is flushed (no bot frame leaves after it).
 *
 *   pnpm tsx bench/pipeline/overhead.ts [turnsPerCall=20] [concurrent=100]
 *
 * Targets (issue 7): median < 5 ms, p95 < 15 ms, barge-in <= 20 ms.
 * With BENCH_JSON=<file>, also writes the figures as JSON (overhead_calls_<N>_p50_ms,
 * overhead_calls_<N>_p95_ms, bargein_calls_<N>_max_ms, ...).
 */
import { cpus, loadavg } from 'node:os';
import { Conversation, type ConversationEvent } from '../../services/pipeline-manager/src/pipeline/conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words } from '../../services/pipeline-manager/src/pipeline/testing/fakes.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const turnsPerCall = Number(process.argv[2] ?? 20);
const concurrent = Number(process.argv[3] ?? 100);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One simulated call: `turns` user turns, each answered; returns STT-final -> first-audio times. */
async function runCall(turns: number): Promise<{ overhead: number[]; bargeIn: number[] }> {
  const answer = 'Sure, I can help with that. Our office opens at nine and closes at six on weekdays.';
  const transport = new FakeTransport(5);
  const stt = new FakeStt();
  const events: ConversationEvent[] = [];
  const waiters: { type: ConversationEvent['type']; count: number; resolve: () => void }[] = [];
  const countOf = (type: ConversationEvent['type']) => events.filter((event) => event.type === type).length;
  /** Resolves when more than `count` events of `type` have arrived (no polling). */
  const next = (type: ConversationEvent['type'], count: number) =>
    countOf(type) > count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ type, count, resolve }));
  const conversation = new Conversation({
    transport,
    vad: new FakeVad(),
    stt,
    llm: new FakeLlm(Array.from({ length: turns * 2 + 1 }, () => words(answer))),
    tts: new FakeTts(20, 0),
    language: 'en-US',
    voiceId: '',
    messages: [{ role: 'system', content: 'You are a helpful receptionist.' }],
    tools: [],
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => {
      events.push(event);
      for (const waiter of [...waiters]) {
        if (waiter.type === event.type && countOf(event.type) > waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    turnEnd: 'stt',
    greeting: false,
    // The barge-in reaction alone: any speech interrupts at once (no minimum, words not awaited).
    turnConfig: { interruption: { min_secs: 0, min_words: 0 } },
  });
  await conversation.start();
  const overhead: number[] = [];
  const bargeIn: number[] = [];
  for (let turn = 0; turn < turns; turn++) {
    // Independent callers: turns start at random moments, not in lockstep.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
    const before = countOf('turn_latency');
    const playedBefore = transport.played.length;
    stt.session!.emit({ type: 'final', text: `Question number ${turn}?` });
    stt.session!.emit({ type: 'endpoint' });
    await next('turn_latency', before);
    const latency = events.filter((event): event is Extract<ConversationEvent, { type: 'turn_latency' }> => event.type === 'turn_latency').at(-1)!;
    overhead.push(latency.firstAudioAt! - latency.sttFinalAt!);
    // Let some audio play, then talk over it.
    await until(() => transport.played.length > playedBefore + 5);
    const bargesBefore = countOf('barge_in');
    transport.hear(3, 5000);
    await next('barge_in', bargesBefore);
    const barge = events.filter((event): event is Extract<ConversationEvent, { type: 'barge_in' }> => event.type === 'barge_in').at(-1)!;
    bargeIn.push(barge.stoppedAt - barge.decidedAt);
    transport.hear(6, 0);
  }
  await conversation.stop('done');
  await transport.close();
  return { overhead, bargeIn };
}

async function measure(calls: number): Promise<{ overhead: number[]; bargeIn: number[] }> {
  const results = await Promise.all(Array.from({ length: calls }, () => runCall(turnsPerCall)));
  return { overhead: results.flatMap((result) => result.overhead), bargeIn: results.flatMap((result) => result.bargeIn) };
}

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]!.toFixed(2)}; node ${process.version}`);
await measure(2); // Warm-up (JIT).
for (const calls of [1, concurrent]) {
  const { overhead, bargeIn } = await measure(calls);
  writeBenchJson({
    [`overhead_calls_${calls}_turns`]: overhead.length,
    [`overhead_calls_${calls}_p50_ms`]: percentile(overhead, 50),
    [`overhead_calls_${calls}_p95_ms`]: percentile(overhead, 95),
    [`overhead_calls_${calls}_max_ms`]: Math.max(...overhead),
    [`bargein_calls_${calls}_p50_ms`]: percentile(bargeIn, 50),
    [`bargein_calls_${calls}_p95_ms`]: percentile(bargeIn, 95),
    [`bargein_calls_${calls}_max_ms`]: Math.max(...bargeIn),
  });
  console.log(
    `${String(calls).padStart(3)} concurrent call(s), ${overhead.length} turns: STT final -> first audio frame out p50 ${percentile(overhead, 50).toFixed(2)} ms, p95 ${percentile(overhead, 95).toFixed(2)} ms, max ${Math.max(...overhead).toFixed(2)} ms; barge-in decision -> output flushed p50 ${percentile(bargeIn, 50).toFixed(3)} ms, max ${Math.max(...bargeIn).toFixed(3)} ms`,
  );
}
console.log('targets: p50 < 5 ms, p95 < 15 ms, barge-in <= 20 ms');
