import { FRAME_MS, FRAME_SAMPLES, type AudioFrame } from './audio-format.ts';

/** How much of one output segment (one TTS utterance, say) was heard. */
export interface SegmentPlayout {
  segmentId: string;
  /** Milliseconds of this segment that reached the caller (RTP: put on the wire at its 20 ms slot). */
  playedMs: number;
  /** Milliseconds queued for this segment but dropped by an interruption. */
  droppedMs: number;
  /** True once every frame is accounted for, i.e. played or dropped, and the segment was ended or interrupted. */
  complete: boolean;
}

interface SegmentRecord {
  queued: number;
  /** Frames that left the queue (sent, played or not). */
  dequeued: number;
  played: number;
  dropped: number;
  ended: boolean;
}

/** Default bound of the output queue: 2 minutes of audio. */
export const DEFAULT_MAX_QUEUED_MS = 120_000;

/**
 * The bounded queue of outgoing 16 kHz frames with per-segment accounting. Frames are copied
 * into pooled buffers on enqueue (callers may reuse theirs) and recycled after sending, so a
 * steady-state call allocates nothing per frame.
 */
export class OutputQueue {
  private readonly frames: AudioFrame[] = [];
  private readonly segmentIds: string[] = [];
  private head = 0;
  private readonly pool: AudioFrame[] = [];
  private readonly segments = new Map<string, SegmentRecord>();
  private readonly maxFrames: number;
  private readonly listeners = new Set<(playout: SegmentPlayout) => void>();
  /** Frames refused because the queue was full. */
  overflowFrames = 0;

  constructor(maxQueuedMs = DEFAULT_MAX_QUEUED_MS) {
    this.maxFrames = Math.max(1, Math.floor(maxQueuedMs / FRAME_MS));
  }

  /** Frames waiting to be sent. */
  get length(): number {
    return this.frames.length - this.head;
  }

  /** Copies a frame into the queue; returns false (and counts it) when the queue is full. */
  enqueue(frame: AudioFrame, segmentId: string): boolean {
    if (frame.length !== FRAME_SAMPLES) throw new RangeError(`frames must have ${FRAME_SAMPLES} samples, got ${frame.length}`);
    if (this.length >= this.maxFrames) {
      this.overflowFrames += 1;
      return false;
    }
    const copy = this.pool.pop() ?? new Int16Array(FRAME_SAMPLES);
    copy.set(frame);
    this.frames.push(copy);
    this.segmentIds.push(segmentId);
    this.record(segmentId).queued += 1;
    return true;
  }

  /** Removes the next frame; give it back with {@link recycle} once encoded. */
  dequeue(): { frame: AudioFrame; segmentId: string } | undefined {
    if (this.head >= this.frames.length) return undefined;
    const frame = this.frames[this.head] as AudioFrame;
    const segmentId = this.segmentIds[this.head] as string;
    this.head += 1;
    const record = this.segments.get(segmentId);
    if (record) record.dequeued += 1;
    if (this.head > 1024 && this.head * 2 > this.frames.length) this.compact();
    return { frame, segmentId };
  }

  /** Returns a frame buffer to the pool. */
  recycle(frame: AudioFrame): void {
    if (this.pool.length < 256) this.pool.push(frame);
  }

  /** Counts frames of a segment as played (reaching the caller). */
  markPlayed(segmentId: string, frames = 1): void {
    const record = this.segments.get(segmentId);
    if (!record) return;
    record.played += frames;
    this.settle(segmentId, record);
  }

  /** Counts frames of a segment as dropped after they left the queue (e.g. flushed from Asterisk's buffer). */
  markDropped(segmentId: string, frames = 1): void {
    const record = this.segments.get(segmentId);
    if (!record) return;
    record.dropped += frames;
    this.settle(segmentId, record);
  }

  /** Declares that no more frames will be queued for the segment. */
  endSegment(segmentId: string): void {
    const record = this.record(segmentId);
    record.ended = true;
    this.settle(segmentId, record);
  }

  /**
   * Drops every queued frame and ends every open segment. `inFlight` frames (sent but not yet
   * played, per segment) are counted as dropped too. Returns the playout of each segment
   * touched since the last report.
   */
  interrupt(inFlight: Map<string, number> = new Map()): SegmentPlayout[] {
    while (this.head < this.frames.length) {
      const segmentId = this.segmentIds[this.head] as string;
      const record = this.segments.get(segmentId);
      if (record) record.dropped += 1;
      this.recycle(this.frames[this.head] as AudioFrame);
      this.head += 1;
    }
    this.compact();
    for (const [segmentId, frames] of inFlight) {
      const record = this.segments.get(segmentId);
      if (record) record.dropped += frames;
    }
    const report: SegmentPlayout[] = [];
    for (const [segmentId, record] of this.segments) {
      record.ended = true;
      report.push(this.toPlayout(segmentId, record));
    }
    this.segments.clear();
    return report;
  }

  /** True when the segment was ended and every one of its frames has left the queue. */
  isFullySent(segmentId: string): boolean {
    const record = this.segments.get(segmentId);
    return record !== undefined && record.ended && record.dequeued >= record.queued;
  }

  /** Frames of a segment still waiting in the queue (0 for unknown segments). */
  unsentFrames(segmentId: string): number {
    const record = this.segments.get(segmentId);
    return record ? record.queued - record.dequeued : 0;
  }

  /** Current accounting of a segment, if it is still tracked. */
  playout(segmentId: string): SegmentPlayout | undefined {
    const record = this.segments.get(segmentId);
    return record ? this.toPlayout(segmentId, record) : undefined;
  }

  /** Subscribes to segments that finished playing (all frames played, segment ended). */
  onSegmentComplete(listener: (playout: SegmentPlayout) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private record(segmentId: string): SegmentRecord {
    let record = this.segments.get(segmentId);
    if (!record) {
      record = { queued: 0, dequeued: 0, played: 0, dropped: 0, ended: false };
      this.segments.set(segmentId, record);
    }
    return record;
  }

  private settle(segmentId: string, record: SegmentRecord): void {
    if (!record.ended || record.played + record.dropped < record.queued) return;
    this.segments.delete(segmentId);
    const playout = this.toPlayout(segmentId, record);
    for (const listener of this.listeners) listener(playout);
  }

  private toPlayout(segmentId: string, record: SegmentRecord): SegmentPlayout {
    return {
      segmentId,
      playedMs: record.played * FRAME_MS,
      droppedMs: record.dropped * FRAME_MS,
      complete: record.ended && record.played + record.dropped >= record.queued,
    };
  }

  private compact(): void {
    this.frames.splice(0, this.head);
    this.segmentIds.splice(0, this.head);
    this.head = 0;
  }
}
