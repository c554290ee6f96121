import { wavHeader } from '@avp/shared';
import { RateConverter } from '../media/codecs.ts';
import type { Channel } from './channel.ts';

/** LiveRecording states as ARI reports them (`canceled` is never seen: a canceled recording finishes `done`). */
export type RecordingState = 'queued' | 'recording' | 'paused' | 'done' | 'failed' | 'canceled';

/** The ARI LiveRecording resource (recordings.json), as res_stasis_recording builds it. */
export interface LiveRecordingJson {
  name: string;
  format: string;
  state: RecordingState;
  target_uri: string;
  duration?: number;
  talking_duration?: number;
  silence_duration?: number;
  cause?: string;
}

/** What ARI's `ifExists` allows. */
export type IfExists = 'fail' | 'overwrite' | 'append';

/** Options of POST /channels/{id}/record, checked. */
export interface RecordingOptions {
  name: string;
  format: RecordingFormat;
  maxDurationSeconds: number;
  maxSilenceSeconds: number;
  ifExists: IfExists;
  /** DTMF digits that stop the recording ('' for none). */
  terminateOn: string;
  beep: boolean;
}

/** The file formats the simulator records: format_wav's `wav` (8 kHz) and `wav16` (16 kHz). */
export type RecordingFormat = 'wav' | 'wav16';
export const RECORDING_SAMPLE_RATES: Record<RecordingFormat, number> = { wav: 8000, wav16: 16_000 };

/**
 * A recording's file in the recording directory: a 16-bit mono WAV whose header sizes are zero
 * while it is being written (format_wav fills them in when the file is closed), as a real
 * Asterisk serves a live recording's file.
 */
export class StoredRecording {
  private chunks: Buffer[] = [];
  private bytes = 0;
  /** False while a recording writes it. */
  closed = false;

  constructor(
    readonly name: string,
    readonly format: RecordingFormat,
  ) {}

  get sampleRate(): number {
    return RECORDING_SAMPLE_RATES[this.format];
  }

  /** Samples written so far (what Asterisk's ast_tellstream counts). */
  get samples(): number {
    return this.bytes / 2;
  }

  truncate(): void {
    this.chunks = [];
    this.bytes = 0;
  }

  write(samples: Int16Array): void {
    if (samples.length === 0) return;
    const chunk = Buffer.alloc(samples.length * 2);
    for (let index = 0; index < samples.length; index += 1) chunk.writeInt16LE(samples[index] ?? 0, index * 2);
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** Cuts the last `samples` samples (Asterisk rewinds over trailing silence and truncates). */
  dropLast(samples: number): void {
    const data = Buffer.concat(this.chunks);
    const keep = Math.max(0, data.length - samples * 2);
    this.chunks = [data.subarray(0, keep)];
    this.bytes = keep;
  }

  /** The file's bytes: header (sizes zero until closed) and the PCM written so far. */
  file(): Buffer {
    const header = wavHeader(this.sampleRate, 1, this.closed ? this.bytes : 0);
    if (!this.closed) header.writeUInt32LE(0, 4);
    return Buffer.concat([header, ...this.chunks]);
  }

  copy(name: string): StoredRecording {
    const copy = new StoredRecording(name, this.format);
    copy.chunks = [Buffer.concat(this.chunks)];
    copy.bytes = this.bytes;
    copy.closed = true;
    return copy;
  }

  toJson(): { name: string; format: string } {
    return { name: this.name, format: this.format };
  }
}

/** ast_dsp_silence's default threshold (average absolute sample value) in app.c. */
const SILENCE_THRESHOLD = 128;
/** ast_play_and_record gives up after two 2 s waits without a frame from the channel. */
export const NO_AUDIO_TIMEOUT_MS = 4000;

/**
 * One ARI recording of a channel (POST /channels/{id}/record): queued behind the channel's
 * earlier recordings (each is a command of the channel's Stasis thread), then recording what
 * the channel reads, as ast_play_and_record does: every frame written to the file at the
 * format's rate, nothing while paused, silence while muted.
 */
export class LiveRecording {
  state: RecordingState = 'queued';
  muted = false;
  cause: string | undefined;
  file: StoredRecording | undefined;
  /** Whole seconds of audio, set when it finishes (ast_tellstream / 8000). */
  duration: number | undefined;
  talkingDuration: number | undefined;
  /** Wall clock (ms) of the start, for maxDurationSeconds (whole seconds as time() counts them). */
  startedAt = 0;
  pausedMs = 0;
  pausedSince = 0;
  /** What is left of the beep played before recording (ms). */
  beepMs = 0;
  /** Milliseconds since the channel last gave a frame. */
  idleMs = 0;
  /** Silence detection (maxSilenceSeconds): the current run and the sum of finished runs, in ms. */
  silenceMs = 0;
  totalSilenceMs = 0;
  private readonly converter: RateConverter;

  constructor(
    readonly channel: Channel,
    readonly options: RecordingOptions,
  ) {
    this.converter = new RateConverter(16_000, RECORDING_SAMPLE_RATES[options.format]);
  }

  get name(): string {
    return this.options.name;
  }

  get active(): boolean {
    return this.state === 'recording' || this.state === 'paused';
  }

  /** One frame the channel read (16 kHz); the file gets it unless paused. */
  write(frame: Int16Array): void {
    if (!this.file || this.state === 'paused') return;
    const samples = this.converter.convert(frame);
    this.file.write(this.muted ? new Int16Array(samples.length) : samples);
    if (this.options.maxSilenceSeconds > 0) this.detectSilence(frame);
  }

  /** Whether a maxDurationSeconds limit is passed: time() seconds since the start, pauses excluded. */
  pastMaxDuration(now: number): boolean {
    const max = this.options.maxDurationSeconds;
    if (max <= 0 || this.state === 'paused') return false;
    return max < Math.floor(now / 1000) - Math.floor(this.startedAt / 1000) - Math.floor(this.pausedMs / 1000);
  }

  /** Whether the silence at the end is longer than maxSilenceSeconds. */
  silentTooLong(): boolean {
    return this.options.maxSilenceSeconds > 0 && this.silenceMs > this.options.maxSilenceSeconds * 1000;
  }

  private detectSilence(frame: Int16Array): void {
    let sum = 0;
    for (const sample of frame) sum += Math.abs(sample);
    const frameMs = (frame.length / 16_000) * 1000;
    if (frame.length > 0 && sum / frame.length < SILENCE_THRESHOLD) this.silenceMs += frameMs;
    else {
      this.totalSilenceMs += this.silenceMs;
      this.silenceMs = 0;
    }
  }

  toJson(): LiveRecordingJson {
    const json: LiveRecordingJson = { name: this.name, format: this.options.format, state: this.state, target_uri: `channel:${this.channel.id}` };
    if (this.duration !== undefined) json.duration = this.duration;
    if (this.duration !== undefined && this.talkingDuration !== undefined) {
      json.talking_duration = this.talkingDuration;
      json.silence_duration = this.duration - this.talkingDuration;
    }
    if (this.cause !== undefined) json.cause = this.cause;
    return json;
  }
}
