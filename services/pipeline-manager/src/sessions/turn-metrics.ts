import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ConversationEvent, TurnLatency } from '../pipeline/conversation-types.ts';

/** The stages of a turn observed in `pipeline_manager_turn_stage_seconds` (see the README). */
export const TURN_STAGES = ['endpointing_wait', 'stt_final', 'llm_first_token', 'tts_first_byte', 'first_audio'] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

/** Seconds; dense where turns live (50 ms - 2 s), sparse up to a provider's 10 s timeout. */
const STAGE_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const BARGE_IN_BUCKETS = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1];

/**
 * A turn's stage durations in ms, from its timestamps. Each stage is measured from the point
 * that starts it: the end of the caller's speech (as the VAD placed it, before its stop wait;
 * the VAD's stop event when that is unknown), the LLM request, the LLM's first token. A stage
 * whose timestamps are missing is left out; one that comes out negative (an STT final before
 * the VAD's end of speech) counts as 0.
 */
export function turnStages(turn: TurnLatency): Partial<Record<TurnStage, number>> {
  const speechEnd = turn.speechEndedAt ?? turn.userStoppedAt;
  const between = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? Math.max(0, to - from) : undefined);
  const stages: Record<TurnStage, number | undefined> = {
    endpointing_wait: between(speechEnd, turn.turnEndAt),
    stt_final: between(speechEnd, turn.sttFinalAt),
    llm_first_token: between(turn.llmRequestAt, turn.llmFirstTokenAt),
    tts_first_byte: between(turn.llmFirstTokenAt, turn.ttsFirstByteAt),
    first_audio: between(speechEnd ?? turn.llmRequestAt, turn.firstAudioAt),
  };
  return Object.fromEntries(Object.entries(stages).filter((entry) => entry[1] !== undefined));
}

/**
 * Prometheus metrics of the conversations this process runs: each stage of a turn, barge-ins,
 * interruptions by kind, provider stalls, discarded preemptive answers and the sessions live
 * now. Fed with every conversation event (`observe`); cheap enough for that (a few per turn).
 */
export class TurnMetrics {
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly turns: Counter<'preemptive'>;
  private readonly bargeInStopSeconds: Histogram;
  private readonly interruptions: Counter<'kind'>;
  private readonly stalls: Counter<'stage' | 'action'>;
  private readonly preemptiveDiscarded: Counter;
  private activeSessions: () => number = () => 0;

  constructor(registry: Registry) {
    const registers = [registry];
    this.stageSeconds = new Histogram({
      name: 'pipeline_manager_turn_stage_seconds',
      help: 'Duration of each stage of a turn: endpointing_wait and stt_final from the end of the caller\'s speech, llm_first_token from the LLM request, tts_first_byte from the first token, first_audio from the end of the caller\'s speech to the first answer frame sent.',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    });
    this.turns = new Counter({
      name: 'pipeline_manager_turns_total',
      help: 'Turns answered with audio, by whether the answer was prepared before the end of turn (preemptive).',
      labelNames: ['preemptive'] as const,
      registers,
    });
    this.bargeInStopSeconds = new Histogram({
      name: 'pipeline_manager_barge_in_stop_seconds',
      help: 'From the decision that the caller interrupts to the bot\'s audio stopped (output flushed).',
      buckets: BARGE_IN_BUCKETS,
      registers,
    });
    this.interruptions = new Counter({
      name: 'pipeline_manager_interruptions_total',
      help: 'Caller sound over the bot by kind: real (stopped the bot), backchannel (did not), false (stopped it but was no speech; the bot went on).',
      labelNames: ['kind'] as const,
      registers,
    });
    this.stalls = new Counter({
      name: 'pipeline_manager_stalls_total',
      help: 'A provider gave nothing in time, by stage (llm, tts) and what was done (filler, retry, fallback, gave_up).',
      labelNames: ['stage', 'action'] as const,
      registers,
    });
    this.preemptiveDiscarded = new Counter({
      name: 'pipeline_manager_preemptive_discarded_total',
      help: 'Answers prepared ahead of the end of turn and thrown away because the caller went on.',
      registers,
    });
    const activeSessions = (): number => this.activeSessions();
    new Gauge({
      name: 'pipeline_manager_active_sessions',
      help: 'Pipelines (live AI calls) this process runs now.',
      registers,
      collect() {
        this.set(activeSessions());
      },
    });
    // Every series exists from the start, so a rate over an idle process reads 0, not "no data".
    for (const kind of ['real', 'backchannel', 'false']) this.interruptions.inc({ kind }, 0);
    for (const preemptive of ['true', 'false']) this.turns.inc({ preemptive }, 0);
  }

  /** Where the active-session gauge reads its value when scraped. */
  countActiveSessions(count: () => number): void {
    this.activeSessions = count;
  }

  /** Records one conversation event (events without a metric are ignored). */
  observe(event: ConversationEvent): void {
    switch (event.type) {
      case 'turn_latency': {
        // A turn_latency without first audio is a turn that produced none (cut short, tool only).
        if (event.firstAudioAt === undefined) return;
        this.turns.inc({ preemptive: event.preemptive === true ? 'true' : 'false' });
        for (const [stage, ms] of Object.entries(turnStages(event))) this.stageSeconds.observe({ stage }, ms / 1000);
        return;
      }
      case 'barge_in':
        this.bargeInStopSeconds.observe(Math.max(0, event.stoppedAt - event.decidedAt) / 1000);
        return;
      case 'interruption':
        this.interruptions.inc({ kind: event.kind });
        return;
      case 'stall':
        this.stalls.inc({ stage: event.stage, action: event.action });
        return;
      case 'preemptive_discarded':
        this.preemptiveDiscarded.inc();
        return;
      default:
        return;
    }
  }
}
