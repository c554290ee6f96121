import { defaultVadConfig, type VadConfig } from '@avp/shared';
import { FRAME_SAMPLES, INTERNAL_SAMPLE_RATE, type AudioFrame } from '../audio-format.ts';
import { BatchedSileroSpeechModel, type SileroBatcher } from './silero-batcher.ts';
import { SileroSpeechModel } from './silero-model.ts';
import { countSkippedVadWindow } from './skipped-windows.ts';
import type { SpeechProbabilityModel, VadEngine } from './speech-probability.ts';
import { EnergySpeechModel, WebRtcSpeechModel } from './webrtc-model.ts';

/** A change in the caller's speaking state, stamped in media time (ms since the stream began). */
export interface VadEvent {
  type: 'user-started-speaking' | 'user-stopped-speaking';
  /** Where the change happened: the first speech window (start) or the end of the last one (stop). */
  mediaTimeMs: number;
  /** Media time at which the decision was made (after start_secs / stop_secs of evidence). */
  detectedAtMs: number;
}

/** Options for {@link createVoiceActivityDetector}. */
export interface VoiceActivityDetectorOptions {
  /** The AI's `vad_config`; missing fields take {@link defaultVadConfig}. */
  config?: VadConfig;
  /** Default `silero`; `webrtc` and `energy` are cheaper fallbacks. */
  engine?: VadEngine;
  /** WebRTC aggressiveness 0-3 (default 3). */
  webrtcMode?: number;
  /**
   * Where Silero runs: `worker` (default) batches all calls' windows in one worker thread, off the
   * event loop that paces RTP; `inline` runs one inference per window in this thread.
   */
  sileroRuntime?: 'worker' | 'inline';
  /** A specific batcher for `worker` (default: the process-wide one). */
  sileroBatcher?: SileroBatcher;
  /** What an asynchronous model that cannot keep up may hold back (defaults below). */
  overload?: VadOverloadOptions;
}

/**
 * Bounds on the windows an asynchronous model (Silero) owes a call. Under CPU overload the
 * model falls behind the call's audio; windows it can no longer serve in time are skipped
 * (counted, no decision taken on them) instead of piling up, and decisions resume with the
 * first window it analyses again. The audio itself never waits for the VAD.
 */
export interface VadOverloadOptions {
  /**
   * A window whose analysis would come later than this after it was due is skipped (default
   * 500 ms). Due = when it arrived, or, for audio fed faster than real time, when it would have
   * arrived in real time after the window before it: offline analysis is never late.
   */
  maxWaitMs?: number;
  /**
   * Most windows of the call waiting to be analysed while the model is stuck on one older than
   * `maxWaitMs`; more are skipped at once (default 32, ~1 s of audio). Audio fed faster than
   * real time to a model that keeps up (offline analysis) is never skipped.
   */
  maxWaitingWindows?: number;
  now?: () => number;
}

type State = 'quiet' | 'starting' | 'speaking' | 'stopping';

/**
 * Loudness of a window on the 0-1 scale `min_volume` uses: the block's level in dB on the 16-bit
 * sample scale (as Pipecat's pyloudnorm measure, without K-weighting), mapped from -20..80 to 0..1.
 * 0.6 is about -50 dBFS.
 */
export function windowVolume(window: Int16Array): number {
  let sum = 0;
  for (let index = 0; index < window.length; index += 1) sum += (window[index] as number) ** 2;
  if (sum === 0) return 0;
  const loudness = -0.691 + 10 * Math.log10(sum / window.length);
  return Math.min(1, Math.max(0, (loudness + 20) / 100));
}

/**
 * Turns a call's inbound 16 kHz frames into speaking/not-speaking events. A window counts as
 * speech when the model's probability >= `confidence` and the smoothed volume >= `min_volume`;
 * `start_secs` of consecutive speech starts a turn, `stop_secs` of non-speech ends it.
 * Frames are processed strictly in order even though Silero inference is asynchronous.
 */
export class VoiceActivityDetector {
  config: Required<VadConfig>;
  private readonly buffer: Int16Array;
  private buffered = 0;
  /** Media time of the first sample in `buffer`. */
  private bufferStartMs = 0;
  private nextFrameMs = 0;
  private readonly windowMs: number;
  private startWindows = 1;
  private stopWindows = 1;
  private state: State = 'quiet';
  private count = 0;
  private transitionMs = 0;
  private smoothedVolume = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<(event: VadEvent) => void>();
  private readonly window: Int16Array;
  /** Last probability and volume seen (for metrics and tuning). */
  lastProbability = 0;
  lastVolume = 0;
  windowsAnalysed = 0;
  /** Windows not analysed because the model could not keep up (also counted process-wide). */
  windowsSkipped = 0;
  /** Windows waiting to be analysed now. */
  windowsWaiting = 0;
  /** When the window the model is analysing now was due (undefined: none). */
  private analysingSince: number | undefined;
  /** When the last window taken was due (see VadOverloadOptions.maxWaitMs). */
  private lastDueAt = Number.NEGATIVE_INFINITY;
  private readonly maxWaitMs: number;
  private readonly maxWaitingWindows: number;
  private readonly now: () => number;

  constructor(
    private readonly model: SpeechProbabilityModel,
    config: VadConfig = {},
    overload: VadOverloadOptions = {},
  ) {
    this.maxWaitMs = overload.maxWaitMs ?? 500;
    this.maxWaitingWindows = overload.maxWaitingWindows ?? 32;
    this.now = overload.now ?? (() => performance.now());
    this.window = new Int16Array(model.windowSamples);
    this.buffer = new Int16Array(model.windowSamples + FRAME_SAMPLES);
    this.windowMs = (model.windowSamples * 1000) / INTERNAL_SAMPLE_RATE;
    this.config = this.settle(config);
  }

  /**
   * Another AI's settings (a team hand-over), missing fields from the defaults: they judge the
   * windows analysed from now on; a start or stop already being counted goes on under them.
   */
  configure(config: VadConfig = {}): void {
    this.config = this.settle(config);
  }

  private settle(config: VadConfig): Required<VadConfig> {
    const settled = { ...defaultVadConfig, ...stripUndefined(config) };
    this.startWindows = Math.max(1, Math.round((settled.start_secs * 1000) / this.windowMs));
    this.stopWindows = Math.max(1, Math.round((settled.stop_secs * 1000) / this.windowMs));
    return settled;
  }

  get engine(): VadEngine {
    return this.model.engine;
  }

  /** True between user-started-speaking and user-stopped-speaking. */
  get speaking(): boolean {
    return this.state === 'speaking' || this.state === 'stopping';
  }

  onEvent(listener: (event: VadEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Feeds one 20 ms frame (copied at once, so the caller may reuse it) and resolves with the
   * events it caused. Calls may overlap; windows are analysed in call order.
   */
  process(frame: AudioFrame): Promise<VadEvent[]> {
    if (this.model.synchronous) return Promise.resolve([...this.processSync(frame)]);
    const windows: Array<{ samples: Int16Array; startMs: number; dueAt: number }> = [];
    // Silero runs asynchronously, so each window gets its own copy.
    this.takeWindows(frame, (window, startMs) => {
      const dueAt = Math.max(this.now(), this.lastDueAt + this.windowMs);
      this.lastDueAt = dueAt;
      if (this.windowsWaiting >= this.maxWaitingWindows && this.modelIsStuck()) return this.skip('queue_full');
      this.windowsWaiting += 1;
      windows.push({ samples: window.slice(), startMs, dueAt });
    });
    // Nothing to wait for behind a backlog: a frame with no window of its own causes no event.
    if (windows.length === 0) return this.windowsWaiting > 0 ? Promise.resolve([]) : this.chain.then(() => []);
    const run = this.chain.then(async () => {
      const events: VadEvent[] = [];
      for (const [index, window] of windows.entries()) {
        if (this.now() - window.dueAt > this.maxWaitMs) {
          this.windowsWaiting -= 1;
          this.skip('stale');
          continue;
        }
        let probability: number | null;
        this.analysingSince = window.dueAt;
        try {
          probability = await this.model.probability(window.samples);
        } catch (error) {
          this.windowsWaiting -= windows.length - index;
          throw error;
        } finally {
          this.analysingSince = undefined;
        }
        this.windowsWaiting -= 1;
        // Skipped by the model itself (its own queue was too long): counted there.
        if (probability === null) {
          this.windowsSkipped += 1;
          continue;
        }
        const event = this.decide(probability, windowVolume(window.samples), window.startMs);
        if (event) events.push(event);
      }
      return events;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Synchronous variant for the WebRTC and energy engines (no allocation per frame). */
  processSync(frame: AudioFrame): readonly VadEvent[] {
    if (!this.model.synchronous) throw new Error(`the ${this.model.engine} engine is asynchronous: use process()`);
    let events: VadEvent[] | undefined;
    this.takeWindows(frame, (window, startMs) => {
      const event = this.decide(this.model.probability(window) as number, windowVolume(window), startMs);
      if (event) (events ??= []).push(event);
    });
    return events ?? noEvents;
  }

  /** Clears the model state and returns to quiet (no event). */
  reset(): void {
    this.model.reset();
    this.state = 'quiet';
    this.count = 0;
    this.buffered = 0;
    this.smoothedVolume = 0;
  }

  dispose(): void {
    this.model.dispose();
  }

  private modelIsStuck(): boolean {
    return this.analysingSince !== undefined && this.now() - this.analysingSince > this.maxWaitMs;
  }

  private skip(reason: 'stale' | 'queue_full'): void {
    this.windowsSkipped += 1;
    countSkippedVadWindow(reason);
  }

  private takeWindows(frame: AudioFrame, onWindow: (window: Int16Array, startMs: number) => void): void {
    if (this.buffered === 0) this.bufferStartMs = this.nextFrameMs;
    this.buffer.set(frame.subarray(0, FRAME_SAMPLES), this.buffered);
    this.buffered += FRAME_SAMPLES;
    this.nextFrameMs += (FRAME_SAMPLES * 1000) / INTERNAL_SAMPLE_RATE;
    const size = this.model.windowSamples;
    while (this.buffered >= size) {
      this.window.set(this.buffer.subarray(0, size));
      onWindow(this.window, this.bufferStartMs);
      this.buffer.copyWithin(0, size, this.buffered);
      this.buffered -= size;
      this.bufferStartMs += this.windowMs;
    }
  }

  private decide(probability: number, volume: number, startMs: number): VadEvent | undefined {
    this.windowsAnalysed += 1;
    // Exponential smoothing so a single loud click does not pass min_volume. The attack is faster
    // than the release: from digital silence a 0.2 attack alone would hide a short "yes".
    this.smoothedVolume += (volume > this.smoothedVolume ? 0.5 : 0.2) * (volume - this.smoothedVolume);
    this.lastProbability = probability;
    this.lastVolume = this.smoothedVolume;
    const isSpeech = probability >= this.config.confidence && this.smoothedVolume >= this.config.min_volume;
    const endMs = startMs + this.windowMs;
    switch (this.state) {
      case 'quiet':
        if (isSpeech) {
          this.state = 'starting';
          this.count = 1;
          this.transitionMs = startMs;
        }
        break;
      case 'starting':
        if (isSpeech) this.count += 1;
        else this.state = 'quiet';
        break;
      case 'speaking':
        if (!isSpeech) {
          this.state = 'stopping';
          this.count = 1;
          this.transitionMs = startMs;
        }
        break;
      case 'stopping':
        if (isSpeech) this.state = 'speaking';
        else this.count += 1;
        break;
    }
    if (this.state === 'starting' && this.count >= this.startWindows) {
      this.state = 'speaking';
      return this.emit({ type: 'user-started-speaking', mediaTimeMs: this.transitionMs, detectedAtMs: endMs });
    }
    if (this.state === 'stopping' && this.count >= this.stopWindows) {
      this.state = 'quiet';
      return this.emit({ type: 'user-stopped-speaking', mediaTimeMs: this.transitionMs, detectedAtMs: endMs });
    }
    return undefined;
  }

  private emit(event: VadEvent): VadEvent {
    for (const listener of this.listeners) listener(event);
    return event;
  }
}

const noEvents: readonly VadEvent[] = Object.freeze([]);

function stripUndefined(config: VadConfig): VadConfig {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as VadConfig;
}

/** Builds a detector with the chosen engine (Silero by default). */
export async function createVoiceActivityDetector(options: VoiceActivityDetectorOptions = {}): Promise<VoiceActivityDetector> {
  const engine = options.engine ?? 'silero';
  let model: SpeechProbabilityModel;
  if (engine === 'silero') {
    model = (options.sileroRuntime ?? 'worker') === 'worker' ? await BatchedSileroSpeechModel.create(options.sileroBatcher) : await SileroSpeechModel.create();
  }
  else if (engine === 'webrtc') model = await WebRtcSpeechModel.create(options.webrtcMode ?? 3);
  else model = new EnergySpeechModel();
  return new VoiceActivityDetector(model, options.config, options.overload);
}
