import type { AudioFrame } from '../media/audio-format.ts';
import type { MediaTransport } from '../media/media-transport.ts';
import { BotSpeech } from './bot-speech.ts';
import type { BotTurn } from './bot-turn.ts';
import type { ConversationEvent, ConversationOptions, TurnLatency } from './conversation-types.ts';

type HeldOutput = { kind: 'frame'; frame: AudioFrame; segmentId: string | undefined } | { kind: 'end'; segmentId: string };

/**
 * An answer prepared before the end of the caller's turn was decided (preemptive generation):
 * the LLM and TTS run as for any answer, but the audio and the events (streamed text, latency,
 * usage) are held back. `adopt` plays and reports everything held, in order, and lets the rest
 * through; `discard` drops it silently, reporting only what the providers were used for
 * (marked `discarded`: metered, but not an answer anyone heard).
 *
 * The held audio is one answer's worth at most (the turn's TTS output); it is not bounded
 * further because the answer is bounded by the LLM's output.
 */
export class PreemptiveAnswer {
  /** Speaks into the hold instead of the transport. */
  readonly speech: BotSpeech;
  /** Settles true when adopted, false when discarded. */
  readonly decided: Promise<boolean>;
  private state: 'held' | 'adopted' | 'discarded' = 'held';
  private readonly output: HeldOutput[] = [];
  private heldFrames = 0;
  private readonly events: ConversationEvent[] = [];
  private settle!: (adopted: boolean) => void;

  constructor(
    /** What the caller said, as far as the answer knows. */
    readonly text: string,
    private readonly options: ConversationOptions,
    private readonly now: () => number,
  ) {
    this.decided = new Promise((resolve) => (this.settle = resolve));
    // The conversation's options read live, not copied (a team's member switch changes the
    // engines, voice and tools in the middle of a turn); only the output and events are the answer's own.
    const held: ConversationOptions = Object.assign(Object.create(options) as ConversationOptions, {
      transport: this.holdingTransport(options.transport),
      onEvent: (event: ConversationEvent) => this.onEvent(event),
    });
    this.speech = new BotSpeech(held, now);
  }

  get isHeld(): boolean {
    return this.state === 'held';
  }

  /**
   * The turn is over and this answer fits it: the held audio goes out now. Latency figures are
   * the caller's: the first audio counts from now, when it is really sent.
   */
  adopt(latency: Partial<TurnLatency> = {}): void {
    if (this.state !== 'held') return;
    this.state = 'adopted';
    const sentAt = this.now();
    const { transport } = this.options;
    for (const item of this.output.splice(0)) {
      if (item.kind === 'frame') transport.send(item.frame, item.segmentId);
      else transport.endSegment(item.segmentId);
    }
    this.heldFrames = 0;
    for (const event of this.events.splice(0)) {
      if (event.type === 'turn_latency') {
        this.options.onEvent({ ...event, ...latency, preemptive: true, ...(event.firstAudioAt !== undefined ? { firstAudioAt: Math.max(event.firstAudioAt, sentAt) } : {}) });
      } else {
        this.options.onEvent(event);
      }
    }
    this.settle(true);
  }

  /** The caller went on: nothing of this answer is heard or kept; its provider use is reported as discarded. */
  discard(turn: number): void {
    if (this.state !== 'held') return;
    this.state = 'discarded';
    this.output.length = 0;
    this.heldFrames = 0;
    const usage = { inputTokens: 0, outputTokens: 0, characters: 0 };
    for (const event of this.events.splice(0)) {
      if (event.type !== 'usage') continue;
      usage.inputTokens += event.inputTokens ?? 0;
      usage.outputTokens += event.outputTokens ?? 0;
      usage.characters += event.characters ?? 0;
      this.options.onEvent({ ...event, discarded: true });
    }
    this.options.onEvent({ type: 'preemptive_discarded', turn, usage });
    this.settle(false);
  }

  private onEvent(event: ConversationEvent): void {
    if (this.state === 'adopted') this.options.onEvent(event);
    else if (this.state === 'held') this.events.push(event);
    // Usage that comes in after a discard was still spent.
    else if (event.type === 'usage') this.options.onEvent({ ...event, discarded: true });
  }

  private holdingTransport(transport: MediaTransport): MediaTransport {
    const frameMs = 20;
    return {
      get kind() {
        return transport.kind;
      },
      get codec() {
        return transport.codec;
      },
      onAudio: (listener) => transport.onAudio(listener),
      send: (frame, segmentId) => {
        if (this.state === 'adopted') return transport.send(frame, segmentId);
        if (this.state === 'discarded') return false;
        this.output.push({ kind: 'frame', frame: frame.slice(), segmentId });
        this.heldFrames++;
        return true;
      },
      endSegment: (segmentId) => {
        if (this.state === 'adopted') transport.endSegment(segmentId);
        else if (this.state === 'held') this.output.push({ kind: 'end', segmentId });
      },
      onSegmentPlayed: (listener) => transport.onSegmentPlayed(listener),
      interrupt: () => transport.interrupt(),
      queuedMs: () => transport.queuedMs() + this.heldFrames * frameMs,
      stats: () => transport.stats(),
      onClose: (listener) => transport.onClose(listener),
      close: () => transport.close(),
    };
  }
}

/** An answer prepared ahead that will not be heard: its turn is aborted and the answer dropped. */
export function discardPrepared({ answer, turn }: { answer: PreemptiveAnswer; turn: BotTurn }): void {
  turn.controller.abort(new Error('preemptive answer discarded'));
  answer.discard(turn.turn);
}
