import { FRAME_MS } from './audio-format.ts';

/** Default gap after which missing inbound audio is filled with silence. */
export const DEFAULT_FILL_SILENCE_AFTER_MS = 100;

/**
 * Keeps the inbound stream flowing in real time when Asterisk stops sending (silence
 * suppression, or a bridge with no audio source: a real Asterisk then sends nothing at all,
 * from the first moment of the call when the caller is silent).
 * Once nothing has arrived for `afterMs`, `onTick` asks for the silence that the gap since the
 * last arrival accounts for, 20 ms per tick from then on, so STT endpointing and the VAD keep
 * seeing time pass and media time stays close to the call's clock.
 */
export class InboundSilenceFiller {
  private lastArrivalMs = -1;
  private filledSinceArrival = 0;

  constructor(private readonly afterMs: number = DEFAULT_FILL_SILENCE_AFTER_MS) {}

  /**
   * The stream has begun (the media leg is up): from now on a gap counts even if no audio has
   * arrived yet. A real Asterisk sends nothing for a caller who is silent from the start, and
   * the VAD and STT must still see time pass.
   */
  begin(nowMs: number): void {
    if (this.lastArrivalMs < 0) this.lastArrivalMs = nowMs;
  }

  /** Records an arrival of real audio. */
  arrived(nowMs: number): void {
    this.lastArrivalMs = nowMs;
    this.filledSinceArrival = 0;
  }

  /** Forgets the stream (nothing is filled until audio arrives again). */
  stop(): void {
    this.lastArrivalMs = -1;
  }

  /** Milliseconds of silence to insert now (a multiple of 20, at most one second at once). */
  due(nowMs: number): number {
    if (this.afterMs <= 0 || this.lastArrivalMs < 0) return 0;
    const idle = nowMs - this.lastArrivalMs;
    if (idle < this.afterMs) return 0;
    const frames = Math.min(50, Math.floor(idle / FRAME_MS) - this.filledSinceArrival);
    if (frames <= 0) return 0;
    this.filledSinceArrival += frames;
    return frames * FRAME_MS;
  }
}
