import { rootMeanSquare, type AudioFrame } from '../media/audio-format.ts';
import type { MediaTransport, MediaTransportStats, InboundAudioListener } from '../media/media-transport.ts';
import type { SegmentPlayout } from '../media/output-queue.ts';

interface KeptSegment {
  frames: AudioFrame[];
  ended: boolean;
}

/** Frames quieter than this (RMS) do not count towards the bot's voice level. */
const SILENT_RMS = 100;
/** The level follows the bot's loudest frames and falls slowly (by half over ~7 s of speech). */
const LEVEL_DECAY = 0.998;

/**
 * The conversation's view of the transport: the same interface, plus a pause that stops what
 * the caller hears without losing it. While the bot might be interrupted by mistake, it is
 * paused (the queued audio is dropped at once, as on a barge-in) rather than cut; new audio
 * is held. If the interruption is confirmed, `interrupt()` answers with what was heard when
 * the pause began; if it was not one, `resume()` plays again from the start of the sentence
 * that was cut. To replay, it keeps a copy of every frame of a segment until that segment
 * has been played to the end (at most the audio still queued, twice). It also measures the
 * level of the bot's voice, which tells its echo from the caller.
 */
export class ResumableOutput implements MediaTransport {
  private readonly kept = new Map<string, KeptSegment>();
  private pausedPlayouts: SegmentPlayout[] | undefined;
  private heldFrames = 0;
  /** RMS of the bot's loudest recent frames (0 before it spoke): its echo stays well below it. */
  private level = 0;

  /** When the current pause began (undefined: not paused). */
  pausedAt: number | undefined;

  constructor(
    private readonly inner: MediaTransport,
    private readonly now: () => number = () => performance.now(),
  ) {
    inner.onSegmentPlayed((playout) => this.kept.delete(playout.segmentId));
  }

  get kind(): MediaTransport['kind'] {
    return this.inner.kind;
  }

  get codec(): MediaTransport['codec'] {
    return this.inner.codec;
  }

  get isPaused(): boolean {
    return this.pausedPlayouts !== undefined;
  }

  /** RMS of the bot's voice: its loudest recent frames, falling slowly. */
  botLevel(): number {
    return this.level;
  }

  onAudio(listener: InboundAudioListener): () => void {
    return this.inner.onAudio(listener);
  }

  send(frame: AudioFrame, segmentId = 'default'): boolean {
    const rms = rootMeanSquare(frame);
    if (rms > SILENT_RMS) this.level = Math.max(rms, this.level * LEVEL_DECAY);
    let segment = this.kept.get(segmentId);
    if (!segment) {
      segment = { frames: [], ended: false };
      this.kept.set(segmentId, segment);
    }
    segment.frames.push(frame.slice());
    if (this.isPaused) {
      this.heldFrames += 1;
      return true;
    }
    return this.inner.send(frame, segmentId);
  }

  endSegment(segmentId: string): void {
    const segment = this.kept.get(segmentId);
    if (segment) segment.ended = true;
    if (!this.isPaused) this.inner.endSegment(segmentId);
  }

  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void {
    return this.inner.onSegmentPlayed(listener);
  }

  /** Stops the audio the caller hears (queued audio dropped), keeping it to resume. Idempotent. */
  pause(): void {
    if (this.isPaused) return;
    this.pausedAt = this.now();
    this.pausedPlayouts = this.inner.interrupt();
    this.heldFrames = 0;
  }

  /**
   * Plays again, from the start of the first segment not yet heard to the end (the sentence
   * that was cut, then the rest, held audio included). No-op when not paused.
   */
  resume(): void {
    if (!this.isPaused) return;
    this.pausedPlayouts = undefined;
    this.pausedAt = undefined;
    this.heldFrames = 0;
    for (const [segmentId, segment] of this.kept) {
      for (const frame of segment.frames) this.inner.send(frame, segmentId);
      if (segment.ended) this.inner.endSegment(segmentId);
    }
  }

  /** Barge-in: everything stops for good. When paused, answers with what was heard when the pause began. */
  interrupt(): SegmentPlayout[] {
    const playouts = this.inner.interrupt();
    const atPause = this.pausedPlayouts;
    this.pausedPlayouts = undefined;
    this.pausedAt = undefined;
    this.heldFrames = 0;
    this.kept.clear();
    return atPause ?? playouts;
  }

  /** Audio waiting to be played, held audio included (a paused bot is still speaking). */
  queuedMs(): number {
    if (!this.isPaused) return this.inner.queuedMs();
    let frames = 0;
    for (const segment of this.kept.values()) frames += segment.frames.length;
    return this.inner.queuedMs() + Math.max(frames, this.heldFrames) * 20;
  }

  stats(): MediaTransportStats {
    return this.inner.stats();
  }

  onClose(listener: (reason: string) => void): () => void {
    return this.inner.onClose(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
