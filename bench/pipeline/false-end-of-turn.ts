/**
 * Callers who pause in the middle of a sentence: how often does the AI answer before the caller
 * has finished? The corpus (services/pipeline-manager/src/pipeline/testing/turn-corpus.ts) holds
 * 32 utterances, each said in two pieces of espeak-ng speech with a pause of 300-700 ms between
 * them, an honest mix: some first pieces are plainly unfinished ("my number is four one five",
 * "I want to um"), most read as complete sentences on their own ("I would like to book a table",
 * "yes"). Same platform and doubles as caller-first-audio.ts (turn-bench-platform.ts), default
 * settings: the real Silero VAD with the default `vad_config`, the default `turn_config`. The STT
 * double gives each piece its words 150 ms after the piece's end, so the detector sees the first
 * piece's transcript during the pause, as with a streaming STT.
 *
 * A false end of turn is an utterance during which the caller heard the AI (the caller's own
 * measure: a loud frame heard before its last piece was sent). Answers prepared ahead and
 * dropped silently are counted apart (they are never heard).
 *
 *   pnpm tsx bench/pipeline/false-end-of-turn.ts [calls=2] [utterances=32]
 *
 * The corpus (or its first `utterances`) is split over `calls` concurrent calls. With BENCH_JSON=<file>, writes
 * false_end_of_turn_count, false_end_of_turn_corpus_size and false_end_of_turn_dropped_answers.
 */
import { cpus, loadavg } from 'node:os';
import { looksComplete } from '../../services/pipeline-manager/src/pipeline/end-of-turn.ts';
import { spokenUtterance, turnCorpus, type CorpusUtterance } from '../../services/pipeline-manager/src/pipeline/testing/turn-corpus.ts';
import { sharedSileroBatcher } from '../../services/pipeline-manager/src/media/vad/silero-batcher.ts';
import { writeBenchJson } from '../lib/bench-json.ts';
import { startTurnBench } from './turn-bench-platform.ts';

const calls = Math.max(1, Number(process.argv[2] ?? 2));
const limit = Number(process.argv[3] ?? turnCorpus.length);

interface Outcome {
  utterance: CorpusUtterance;
  falseEnd: boolean;
  answered: boolean;
}

const audio = await Promise.all(turnCorpus.map((utterance) => spokenUtterance(utterance)));
const bench = await startTurnBench({ telephonyKind: 'simulator', sttFinalMs: 150, llmFirstTokenMs: 350, ttsFirstByteMs: 150 });

async function runCall(index: number): Promise<Outcome[]> {
  const mine = turnCorpus.map((utterance, position) => ({ utterance, samples: audio[position]! })).filter((_, position) => position % calls === index && position < limit);
  const call = await bench.placeCall(index, mine.flatMap((entry) => entry.utterance.pieces));
  const { caller } = call;
  const outcomes: Outcome[] = [];
  await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 500));
  for (const { utterance, samples } of mine) {
    let heardWhileSpeaking = false;
    const onAudio = () => (heardWhileSpeaking = true);
    caller.on('audioStart', onAudio);
    await caller.play(samples);
    caller.off('audioStart', onAudio);
    let answered = true;
    try {
      await caller.waitForAudio(8000);
      await caller.waitForSilence(10_000);
    } catch {
      answered = false;
    }
    // Let a cut answer and its follow-up settle before the next utterance.
    await new Promise((resolve) => setTimeout(resolve, 400));
    if (caller.hearingAudio) await caller.waitForSilence(10_000).catch(() => undefined);
    outcomes.push({ utterance, falseEnd: heardWhileSpeaking, answered });
  }
  caller.hangup();
  return outcomes;
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]!.toFixed(2)}; node ${process.version}; Asterisk simulator; ` +
    `${turnCorpus.length} utterances with a 300-700 ms pause mid-sentence over ${calls} concurrent call(s); default vad_config (real Silero) and turn_config`,
);
let outcomes: Outcome[];
let failure: unknown;
let dropped: number | undefined;
try {
  const settled = await Promise.allSettled(Array.from({ length: calls }, (_, index) => runCall(index)));
  outcomes = settled.flatMap((entry) => (entry.status === 'fulfilled' ? entry.value : []));
  failure = settled.find((entry): entry is PromiseRejectedResult => entry.status === 'rejected')?.reason;
  dropped = await bench.metric('pipeline_manager_preemptive_discarded_total');
} finally {
  await bench.close();
  // The shared Silero batcher's worker keeps a message port open: close it so the process ends.
  await sharedSileroBatcher().close();
}

for (const outcome of outcomes) {
  const first = outcome.utterance.pieces[0]!;
  const flag = outcome.falseEnd ? 'ANSWERED TOO EARLY' : outcome.answered ? 'ok' : 'no answer';
  console.log(`  ${flag.padEnd(18)} pause ${String(outcome.utterance.pausesMs[0]).padStart(3)} ms, first piece ${looksComplete(first) ? 'reads finished  ' : 'reads unfinished'} "${outcome.utterance.text}"`);
}
const falseEnds = outcomes.filter((outcome) => outcome.falseEnd).length;
console.log(`false ends of turn: ${falseEnds} of ${outcomes.length} utterances (target: at most 1); unanswered: ${outcomes.filter((outcome) => !outcome.answered).length}`);
console.log(`answers prepared ahead and dropped silently (the caller went on): ${dropped ?? '-'}`);
writeBenchJson({
  false_end_of_turn_count: falseEnds,
  false_end_of_turn_corpus_size: outcomes.length,
  false_end_of_turn_dropped_answers: dropped ?? null,
});
if (failure || outcomes.length !== Math.min(limit, turnCorpus.length)) {
  console.error(`a call failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  process.exitCode = 1;
}
