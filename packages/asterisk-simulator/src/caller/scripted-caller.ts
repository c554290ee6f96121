import { EventEmitter } from 'node:events';
import type { FarEnd } from '../model/far-end.ts';
import { ENGINE_FRAME_SAMPLES, FRAME_MS, rms } from '../media/codecs.ts';
import type { FaultPlan } from '../media/faults.ts';
import { buildStereoWav, buildWav, readWavFile, toEngineRate, writeWavFile } from '../media/wav.ts';

/** What the simulator wires into a caller: how to act on its channel. */
export interface CallerHooks {
  dtmf(digit: string, durationMs: number): void;
  hangup(cause: number): void;
  answer(): void;
  /** RTP legs currently bridged with the caller (fault injection targets). */
  mediaLegs(): { setFaults(plan: FaultPlan | undefined): void; sendMalformedBurst(count: number): void }[];
}

/** The caller's view of its channel: the simulator's own channel, or a real Asterisk's seen over ARI. */
export interface CallerChannel {
  readonly id: string;
  /** `Up` once answered (the caller speaks only then). */
  readonly state: string;
}

export interface CallerOptions {
  /** RMS (sample units) above which a 20 ms frame counts as audio; default 300 (about -40 dBFS). */
  speechThreshold?: number;
  /** Quiet frames in a row that end heard audio; default 3 (60 ms). */
  hangoverFrames?: number;
  /**
   * Send silence frames while not speaking, as a phone that sends continuous RTP. Default false:
   * like a caller on a Local channel without transmit_silence, nothing is sent while silent, and
   * the last frame of an utterance carries only its real samples (a short packet on RTP).
   */
  sendSilence?: boolean;
  /**
   * The line returns what the caller hears to the far side, as a phone's hybrid or speaker
   * does: each heard frame is sent back `delayMs` later (default 150, rounded to 20 ms frames)
   * at `gainDb` (default -20), mixed with whatever the caller says. Off when not given.
   */
  echo?: { delayMs?: number; gainDb?: number };
}

/** A stretch of audio the caller heard, in ms since the call started. */
export interface HeardSegment {
  startMs: number;
  endMs: number;
}

interface Utterance {
  samples: Int16Array;
  position: number;
  interruption: boolean;
  lastLoudAt: number | undefined;
  done: () => void;
}

/**
 * A scripted phone on the far end of a channel. It speaks audio into the call at real-time
 * pace (one 20 ms frame per media tick), records everything it hears with timestamps, sends
 * DTMF, hangs up, and measures what a caller experiences: time from the end of its own
 * speech to the first audio heard back, and from the start of an interruption to the moment
 * the audio it hears stops.
 */
export class Caller extends EventEmitter<{
  answered: [];
  hangup: [];
  audioStart: [number];
  audioStop: [number];
  dtmf: [string];
}> implements FarEnd {
  channel!: CallerChannel;
  readonly startedAt = performance.now();
  /** Response latencies: end of own speech -> first audio heard, one per utterance answered. */
  readonly responseLatenciesMs: number[] = [];
  /** Barge-in latencies: start of an interruption -> heard audio stops. */
  readonly bargeInLatenciesMs: number[] = [];
  readonly heardSegments: HeardSegment[] = [];
  readonly dtmfHeard: { digit: string; atMs: number }[] = [];
  ended = false;
  private readonly recorded: { tick: number; frame: Int16Array }[] = [];
  private readonly spoken: { tick: number; frame: Int16Array }[] = [];
  private tick = 0;
  private readonly utterances: Utterance[] = [];
  private heardActive = false;
  private heardStartMs = 0;
  private lastHeardLoudMs = 0;
  private quietFrames = 0;
  private pendingResponseSinceMs: number | undefined;
  private pendingInterruptionSinceMs: number | undefined;
  private readonly threshold: number;
  private readonly hangoverFrames: number;
  private readonly sendSilence: boolean;
  /** Heard frames waiting to be echoed (null: nothing heard in that tick); undefined = no echo. */
  private readonly echoLine: (Int16Array | null)[] | undefined;
  private readonly echoDelayFrames: number;
  private readonly echoGain: number;

  constructor(
    private readonly hooks: CallerHooks,
    options: CallerOptions = {},
  ) {
    super();
    this.threshold = options.speechThreshold ?? 300;
    this.hangoverFrames = options.hangoverFrames ?? 3;
    this.sendSilence = options.sendSilence ?? false;
    this.echoLine = options.echo ? [] : undefined;
    this.echoDelayFrames = Math.max(1, Math.round((options.echo?.delayMs ?? 150) / FRAME_MS));
    this.echoGain = 10 ** ((options.echo?.gainDb ?? -20) / 20);
  }

  get id(): string {
    return this.channel.id;
  }

  /** ms since the call started, on the media clock's monotonic time base. */
  now(): number {
    return performance.now() - this.startedAt;
  }

  /** Whether audio is being heard right now (above threshold, within the hangover). */
  get hearingAudio(): boolean {
    return this.heardActive;
  }

  /**
   * Speaks 16 kHz PCM (or a WAV file, any PCM16 rate) into the call at real-time pace.
   * Resolves when the last frame has been sent. Speech waits for the call to be answered.
   */
  async play(audio: Int16Array | string, options: { interruption?: boolean } = {}): Promise<void> {
    const samples = typeof audio === 'string' ? toEngineRate(await readWavFile(audio)) : audio;
    if (this.ended) return;
    await new Promise<void>((resolve) => {
      this.utterances.push({ samples, position: 0, interruption: options.interruption ?? false, lastLoudAt: undefined, done: resolve });
    });
  }

  /** Speaks over whatever the caller is hearing; the barge-in latency is measured from its first loud frame. */
  interrupt(audio: Int16Array | string): Promise<void> {
    return this.play(audio, { interruption: true });
  }

  /** Sends a DTMF digit (ChannelDtmfReceived fires when the digit ends, after `durationMs`). */
  async sendDtmf(digit: string, durationMs = 100): Promise<void> {
    if (!/^[0-9A-D*#]$/.test(digit)) throw new Error(`invalid DTMF digit ${digit}`);
    await new Promise((resolve) => setTimeout(resolve, durationMs));
    if (!this.ended) this.hooks.dtmf(digit, durationMs);
  }

  /** The caller hangs up (ChannelHangupRequest with cause 16, not soft). */
  hangup(cause = 16): void {
    if (!this.ended) this.hooks.hangup(cause);
  }

  /** For an outbound (originated) call: the called party answers. */
  answer(): void {
    this.hooks.answer();
  }

  /** Installs network faults on the RTP legs bridged with this caller (undefined clears them). */
  injectFaults(plan: FaultPlan | undefined): number {
    const legs = this.hooks.mediaLegs();
    for (const leg of legs) leg.setFaults(plan);
    return legs.length;
  }

  /** Sends a burst of datagrams that are not valid RTP on the bridged RTP legs. */
  sendMalformedBurst(count = 10): number {
    const legs = this.hooks.mediaLegs();
    for (const leg of legs) leg.sendMalformedBurst(count);
    return legs.length;
  }

  waitForAnswer(timeoutMs = 5000): Promise<void> {
    if (this.channel.state === 'Up') return Promise.resolve();
    return this.waitFor('answered', timeoutMs).then(() => undefined);
  }

  waitForHangup(timeoutMs = 5000): Promise<void> {
    if (this.ended) return Promise.resolve();
    return this.waitFor('hangup', timeoutMs).then(() => undefined);
  }

  /** Resolves with the call time (ms) at which audio is next heard. */
  waitForAudio(timeoutMs = 5000): Promise<number> {
    if (this.heardActive) return Promise.resolve(this.heardStartMs);
    return this.waitFor('audioStart', timeoutMs).then((values) => values[0] as number);
  }

  /** Resolves with the call time (ms) at which heard audio next stops. */
  waitForSilence(timeoutMs = 5000): Promise<number> {
    if (!this.heardActive) return Promise.resolve(this.lastHeardLoudMs);
    return this.waitFor('audioStop', timeoutMs).then((values) => values[0] as number);
  }

  /** Everything heard so far as 16 kHz PCM, with silence where nothing was received. */
  recording(): Int16Array {
    const last = this.recorded.at(-1);
    const out = new Int16Array(last ? (last.tick + 1) * ENGINE_FRAME_SAMPLES : 0);
    for (const { tick, frame } of this.recorded) out.set(frame, tick * ENGINE_FRAME_SAMPLES);
    return out;
  }

  /** Everything this caller said (played) so far, 16 kHz PCM on the same timeline as `recording()`. */
  spokenRecording(): Int16Array {
    const last = this.spoken.at(-1);
    const out = new Int16Array(last ? (last.tick + 1) * ENGINE_FRAME_SAMPLES : 0);
    for (const { tick, frame } of this.spoken) out.set(frame, tick * ENGINE_FRAME_SAMPLES);
    return out;
  }

  /**
   * Both directions of the call as a stereo 16 kHz WAV: left what this caller said, right
   * what it heard. The shorter side is padded with silence.
   */
  conversationWav(): Buffer {
    return buildStereoWav(this.spokenRecording(), this.recording());
  }

  recordingWav(): Buffer {
    return buildWav(this.recording());
  }

  async saveRecording(path: string): Promise<void> {
    await writeWavFile(path, this.recording());
  }

  produce(): Int16Array | null {
    if (this.ended || this.channel.state !== 'Up') return null;
    const own = this.produceSpeech();
    // produce() runs before consume(): once the line holds `delay` frames, the oldest is due.
    const echo = this.echoLine && this.echoLine.length >= this.echoDelayFrames ? this.echoLine.shift() : undefined;
    return echo ? this.withEcho(own, echo) : own;
  }

  /** The caller's own speech plus the echo of what it heard, at the echo's gain. */
  private withEcho(own: Int16Array | null, echo: Int16Array): Int16Array | null {
    const frame = new Int16Array(Math.max(own?.length ?? 0, echo.length));
    if (own) frame.set(own);
    for (let index = 0; index < echo.length; index++) {
      frame[index] = Math.max(-32768, Math.min(32767, (frame[index] as number) + Math.round((echo[index] as number) * this.echoGain)));
    }
    return frame;
  }

  private produceSpeech(): Int16Array | null {
    const utterance = this.utterances[0];
    if (!utterance) return this.sendSilence ? new Int16Array(ENGINE_FRAME_SAMPLES) : null;
    // A burst that ends mid-frame ends with a short frame, as Asterisk sends the end of a played
    // file; while more speech (or silence) follows at once, frames stay whole and zero-padded.
    const remaining = utterance.samples.length - utterance.position;
    const endsBurst = this.utterances.length === 1 && !this.sendSilence;
    const frame = new Int16Array(endsBurst ? Math.min(remaining, ENGINE_FRAME_SAMPLES) : ENGINE_FRAME_SAMPLES);
    frame.set(utterance.samples.subarray(utterance.position, utterance.position + frame.length));
    utterance.position += ENGINE_FRAME_SAMPLES;
    if (frame.length === 0) {
      this.finishUtterance(utterance);
      return null;
    }
    // produce() runs before consume() in a media tick, so this frame shares the heard frame's tick.
    this.spoken.push({ tick: this.tick, frame });
    const now = this.now();
    if (rms(frame) > this.threshold) {
      if (utterance.interruption && utterance.lastLoudAt === undefined && this.heardActive) {
        this.pendingInterruptionSinceMs = now;
      }
      utterance.lastLoudAt = now;
    }
    if (utterance.position >= utterance.samples.length) this.finishUtterance(utterance);
    return frame;
  }

  private finishUtterance(utterance: Utterance): void {
    this.utterances.shift();
    if (utterance.lastLoudAt !== undefined) this.pendingResponseSinceMs = utterance.lastLoudAt;
    utterance.done();
  }

  consume(frame: Int16Array | null): void {
    const tick = this.tick;
    this.tick += 1;
    if (this.ended) return;
    if (frame) this.recorded.push({ tick, frame });
    if (this.echoLine) {
      this.echoLine.push(frame ? frame.slice() : null);
      if (this.echoLine.length > this.echoDelayFrames) this.echoLine.shift();
    }
    const now = this.now();
    if (frame && rms(frame) > this.threshold) {
      this.quietFrames = 0;
      this.lastHeardLoudMs = now;
      if (!this.heardActive) {
        this.heardActive = true;
        this.heardStartMs = now;
        if (this.pendingResponseSinceMs !== undefined) {
          this.responseLatenciesMs.push(now - this.pendingResponseSinceMs);
          this.pendingResponseSinceMs = undefined;
        }
        this.emit('audioStart', now);
      }
      return;
    }
    if (!this.heardActive) return;
    this.quietFrames += 1;
    if (this.quietFrames < this.hangoverFrames) return;
    this.heardActive = false;
    const stoppedAt = this.lastHeardLoudMs + FRAME_MS;
    this.heardSegments.push({ startMs: this.heardStartMs, endMs: stoppedAt });
    if (this.pendingInterruptionSinceMs !== undefined) {
      this.bargeInLatenciesMs.push(stoppedAt - this.pendingInterruptionSinceMs);
      this.pendingInterruptionSinceMs = undefined;
    }
    this.emit('audioStop', stoppedAt);
  }

  receiveDtmf(digit: string): void {
    this.dtmfHeard.push({ digit, atMs: this.now() });
    this.emit('dtmf', digit);
  }

  answered(): void {
    this.emit('answered');
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    for (const utterance of this.utterances.splice(0)) utterance.done();
    this.emit('hangup');
  }

  private waitFor<Name extends 'answered' | 'hangup' | 'audioStart' | 'audioStop'>(name: Name, timeoutMs: number): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off(name, listener as never);
        reject(new Error(`caller ${this.channel.id}: no ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (...values: unknown[]) => {
        clearTimeout(timer);
        resolve(values);
      };
      this.once(name, listener as never);
    });
  }
}
