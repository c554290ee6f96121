import type { VadConfig } from '@avp/shared';
import { FRAME_SAMPLES, type AudioFrame } from '../../media/audio-format.ts';
import type { MediaTransport, MediaTransportStats, InboundAudioListener } from '../../media/media-transport.ts';
import { OutputQueue, type SegmentPlayout } from '../../media/output-queue.ts';
import type { VadEvent } from '../../media/vad/voice-activity-detector.ts';
import type {
  LlmEvent,
  LlmMessage,
  LlmProvider,
  LlmRequest,
  SttEvent,
  SttProvider,
  SttSession,
  SttStartOptions,
  TtsEvent,
  TtsOptions,
  TtsProvider,
  TtsSession,
} from '../../providers/types.ts';
import type { ConversationVad } from '../conversation.ts';

/** An async queue: `push` values, iterate them; `end` finishes the iteration. */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((result: IteratorResult<T>) => void)[] = [];
  private ended = false;

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: item, done: false });
    else this.items.push(item);
  }

  end(): void {
    this.ended = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
    };
  }
}

/**
 * An in-memory media transport: inbound frames come from `hear()`, outbound frames are
 * "played" one per `frameIntervalMs` (faster than real time, to keep tests short) through
 * the media engine's own OutputQueue accounting.
 */
export class FakeTransport implements MediaTransport {
  readonly kind = 'rtp' as const;
  readonly codec = 'ulaw' as const;
  readonly played: { segmentId: string; frame: AudioFrame }[] = [];
  private readonly queue = new OutputQueue();
  private readonly audioListeners = new Set<InboundAudioListener>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly timer: NodeJS.Timeout;
  private mediaTime = 0;
  interruptions = 0;

  constructor(frameIntervalMs = 2) {
    this.timer = setInterval(() => {
      const next = this.queue.dequeue();
      if (!next) return;
      this.played.push({ segmentId: next.segmentId, frame: next.frame.slice() });
      this.queue.markPlayed(next.segmentId);
      this.queue.recycle(next.frame);
    }, frameIntervalMs);
  }

  /** Caller audio: `frames` frames at `amplitude` (0 = silence). */
  hear(frames: number, amplitude: number): void {
    for (let index = 0; index < frames; index++) {
      const frame = new Int16Array(FRAME_SAMPLES).fill(amplitude);
      for (const listener of this.audioListeners) listener(frame, this.mediaTime);
      this.mediaTime += 20;
    }
  }

  onAudio(listener: InboundAudioListener): () => void {
    this.audioListeners.add(listener);
    return () => this.audioListeners.delete(listener);
  }

  send(frame: AudioFrame, segmentId = 'default'): boolean {
    return this.queue.enqueue(frame, segmentId);
  }

  endSegment(segmentId: string): void {
    this.queue.endSegment(segmentId);
  }

  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void {
    return this.queue.onSegmentComplete(listener);
  }

  interrupt(): SegmentPlayout[] {
    this.interruptions++;
    return this.queue.interrupt();
  }

  queuedMs(): number {
    return this.queue.length * 20;
  }

  stats(): MediaTransportStats {
    return {
      framesReceived: this.mediaTime / 20,
      framesSent: this.played.length,
      silenceFramesSent: 0,
      concealedFrames: 0,
      malformed: {},
      outputOverflowFrames: this.queue.overflowFrames,
      interruptions: this.interruptions,
      queuedFrames: this.queue.length,
    };
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const listener of this.closeListeners) listener('closed');
  }
}

/** A VAD double: frames louder than 1000 are speech; 3 of them start a turn, 5 quiet ones end it. */
export class FakeVad implements ConversationVad {
  /** The settings a team hand-over gave it, in order. */
  readonly configured: VadConfig[] = [];
  private loud = 0;
  private quiet = 0;
  private speaking = false;
  private time = 0;

  async process(frame: AudioFrame): Promise<VadEvent[]> {
    this.time += 20;
    const isSpeech = Math.abs(frame[0] ?? 0) > 1000;
    if (isSpeech) {
      this.loud++;
      this.quiet = 0;
      if (!this.speaking && this.loud >= 3) {
        this.speaking = true;
        return [{ type: 'user-started-speaking', mediaTimeMs: this.time - 60, detectedAtMs: this.time }];
      }
    } else {
      this.quiet++;
      this.loud = 0;
      if (this.speaking && this.quiet >= 5) {
        this.speaking = false;
        return [{ type: 'user-stopped-speaking', mediaTimeMs: this.time - 100, detectedAtMs: this.time }];
      }
    }
    return [];
  }

  configure(config: VadConfig): void {
    this.configured.push(config);
  }
}

/** An STT double: the test says what it "recognised". */
export class FakeStt implements SttProvider {
  readonly name: string = 'fake.stt';
  session: (SttSession & { emit(event: SttEvent): void; written: number }) | undefined;

  /** `usageOnClose`: report the audio written (20 ms a frame) as the session closes, as real STTs do. */
  constructor(private readonly options: { usageOnClose?: boolean } = {}) {}

  async start(_options?: SttStartOptions): Promise<SttSession> {
    const events = new AsyncQueue<SttEvent>();
    let closed = false;
    const end = () => {
      if (closed) return;
      closed = true;
      if (this.options.usageOnClose) events.push({ type: 'usage', audioSeconds: session.written * 0.02 });
      events.end();
    };
    const session = {
      written: 0,
      events,
      write: () => void session.written++,
      finish: async () => end(),
      close: () => end(),
      emit: (event: SttEvent) => events.push(event),
    };
    this.session = session;
    return session;
  }
}

/** One scripted LLM answer: events, with a pause (ms) before each when given as [ms, event]. */
export type ScriptedAnswer = (LlmEvent | [number, LlmEvent])[] | Error;

/** An LLM double that answers from a script and records every request. */
export class FakeLlm implements LlmProvider {
  readonly name = 'fake.llm';
  readonly requests: LlmMessage[][] = [];

  constructor(private readonly answers: ScriptedAnswer[]) {}

  async *stream(request: LlmRequest): AsyncIterable<LlmEvent> {
    this.requests.push(request.messages.map((message) => ({ ...message })));
    const answer = this.answers.shift() ?? [{ type: 'text-delta', text: 'I have nothing more to say.' }, { type: 'done', finishReason: 'stop' }];
    if (answer instanceof Error) throw answer;
    for (const step of answer) {
      const [delay, event] = Array.isArray(step) ? step : [0, step];
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (request.signal?.aborted) throw request.signal.reason;
      yield event;
    }
  }
}

/** Text as words, streamed: one text-delta per word. */
export function words(text: string, delayMs = 0): [number, LlmEvent][] {
  const parts = text.split(/(?<= )/);
  return [...parts.map((part): [number, LlmEvent] => [delayMs, { type: 'text-delta', text: part }]), [0, { type: 'usage', inputTokens: 10, outputTokens: parts.length }], [0, { type: 'done', finishReason: 'stop' }]];
}

/** A TTS double: `msPerCharacter` of a loud tone per character of text, delivered at once. */
export class FakeTts implements TtsProvider {
  readonly name = 'fake.tts';
  readonly texts: string[] = [];

  constructor(
    private readonly msPerCharacter = 10,
    /** Time to first byte per sentence; 0 = none at all (microtask), for overhead benchmarks. */
    private readonly latencyMs = 1,
  ) {}

  open(options: TtsOptions): TtsSession {
    const events = new AsyncQueue<TtsEvent>();
    let index = 0;
    let pending = Promise.resolve();
    const session: TtsSession = {
      events,
      push: (text) => {
        const textIndex = index++;
        this.texts.push(text);
        pending = pending.then(async () => {
          if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
          if (options.signal?.aborted) return;
          const samples = Math.round((text.length * this.msPerCharacter * 16_000) / 1000);
          events.push({ type: 'audio', pcm: new Int16Array(samples).fill(3000), textIndex });
          events.push({ type: 'text-end', textIndex });
          events.push({ type: 'usage', characters: text.length });
        });
        return textIndex;
      },
      end: () => {
        void pending.then(() => events.end());
      },
    };
    options.signal?.addEventListener('abort', () => events.end(), { once: true });
    return session;
  }
}

/** RMS of a frame of 16-bit samples. */
export function frameRms(frame: Int16Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  return Math.sqrt(sum / frame.length);
}

/**
 * A VAD double on loudness for calls through the simulator (whose callers send real audio):
 * `startFrames` loud 20 ms frames start speech, `stopMs` of quiet frames end it.
 */
export function loudnessVad(options: { startFrames?: number; stopMs?: number; threshold?: number } = {}): ConversationVad {
  const startFrames = options.startFrames ?? 5;
  const stopMs = options.stopMs ?? 300;
  const threshold = options.threshold ?? 1500;
  const stopFrames = Math.max(1, Math.round(stopMs / 20));
  let loud = 0;
  let quiet = 0;
  let speaking = false;
  let time = 0;
  return {
    async process(frame) {
      time += 20;
      if (frameRms(frame) > threshold) {
        loud++;
        quiet = 0;
        if (!speaking && loud >= startFrames) {
          speaking = true;
          return [{ type: 'user-started-speaking', mediaTimeMs: time - startFrames * 20, detectedAtMs: time }];
        }
      } else {
        quiet++;
        loud = 0;
        if (speaking && quiet >= stopFrames) {
          speaking = false;
          return [{ type: 'user-stopped-speaking', mediaTimeMs: time - stopMs, detectedAtMs: time }];
        }
      }
      return [];
    },
  };
}
