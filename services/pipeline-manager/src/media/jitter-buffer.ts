import { sequenceDistance } from './rtp-packet.ts';

/** Counters kept by {@link JitterBuffer}. */
export interface JitterBufferStats {
  /** Packets accepted into the buffer. */
  accepted: number;
  /** Packets that arrived after a packet with a higher sequence number but still in time. */
  reordered: number;
  /** Packets already received (dropped). */
  duplicates: number;
  /** Packets that arrived after their slot was concealed (dropped). */
  late: number;
  /** Packets concealed with silence. */
  concealed: number;
  /** Times the sequence jumped so far that the buffer restarted instead of concealing. */
  resyncs: number;
}

/** Receives payloads in sequence order; `undefined` asks the caller to conceal one packet. */
export type JitterBufferSink = (payload: Uint8Array | undefined) => void;

/** Options for {@link JitterBuffer}. */
export interface JitterBufferOptions {
  /** Packets held while waiting for a missing one (default 3 = 60 ms at 20 ms ptime). */
  depth?: number;
  /** A forward jump larger than this many packets restarts the buffer instead of concealing (default 50 = 1 s). */
  maxGap?: number;
  /** Largest payload in bytes (default 1500). */
  maxPayloadBytes?: number;
}

/**
 * A small reordering buffer driven by arrivals. In-order packets pass straight through (no added
 * latency). When one is missing, later packets are held until either it arrives or `depth`
 * packets are waiting, then the hole is concealed. `flush` releases everything (called when
 * packets stop arriving, so the tail of a talkspurt is not held forever). Slots are preallocated.
 */
export class JitterBuffer {
  readonly stats: JitterBufferStats = { accepted: 0, reordered: 0, duplicates: 0, late: 0, concealed: 0, resyncs: 0 };
  private readonly depth: number;
  private readonly maxGap: number;
  private readonly size: number;
  private readonly slots: Uint8Array[];
  private readonly lengths: Int32Array;
  private readonly filled: Uint8Array;
  private readonly slotSequence: Int32Array;
  /** Sequence numbers recently delivered with real audio, by slot (to tell duplicates from late packets). */
  private readonly delivered: Int32Array;
  /** Next sequence number to deliver, or -1 before the first packet. */
  private expected = -1;
  /** Number of filled slots. */
  private held = 0;
  private highest = -1;

  constructor(
    private readonly sink: JitterBufferSink,
    options: JitterBufferOptions = {},
  ) {
    this.depth = Math.max(0, options.depth ?? 3);
    this.maxGap = options.maxGap ?? 50;
    // A power of two divides 2^16, so slot = sequence % size stays collision-free across the wrap.
    let size = 16;
    while (size < this.depth * 2 + 2) size *= 2;
    this.size = size;
    const maxPayload = options.maxPayloadBytes ?? 1500;
    this.slots = Array.from({ length: this.size }, () => new Uint8Array(maxPayload));
    this.lengths = new Int32Array(this.size);
    this.filled = new Uint8Array(this.size);
    this.slotSequence = new Int32Array(this.size);
    this.delivered = new Int32Array(this.size).fill(-1);
  }

  /** Packets currently held back. */
  get heldPackets(): number {
    return this.held;
  }

  /** Forgets the stream (SSRC change): releases what is held, the next packet starts afresh. */
  reset(): void {
    this.flush();
    this.expected = -1;
    this.highest = -1;
  }

  /** Accepts one packet. */
  push(sequenceNumber: number, payload: Uint8Array): void {
    if (this.expected < 0) {
      this.expected = sequenceNumber;
      this.highest = sequenceNumber;
    }
    const distance = sequenceDistance(this.expected, sequenceNumber);
    if (distance < 0) {
      if (this.delivered[sequenceNumber % this.size] === sequenceNumber) this.stats.duplicates += 1;
      else this.stats.late += 1;
      return;
    }
    if (distance > this.maxGap) {
      this.stats.resyncs += 1;
      this.flush();
      this.expected = sequenceNumber;
      this.highest = sequenceNumber;
      this.store(sequenceNumber, payload);
      this.release();
      return;
    }
    if (this.isHeld(sequenceNumber)) {
      this.stats.duplicates += 1;
      return;
    }
    if (sequenceDistance(this.highest, sequenceNumber) < 0) this.stats.reordered += 1;
    else this.highest = sequenceNumber;
    if (distance >= this.size) {
      // Too far ahead to hold: conceal up to the point where it fits.
      this.skipTo((sequenceNumber - this.size + 1) & 0xffff);
    }
    this.store(sequenceNumber, payload);
    this.release();
  }

  /** Releases everything held, concealing the holes between held packets. */
  flush(): void {
    while (this.held > 0) this.deliverNext();
  }

  private isHeld(sequenceNumber: number): boolean {
    const slot = sequenceNumber % this.size;
    return this.filled[slot] === 1 && this.slotSequence[slot] === sequenceNumber;
  }

  private store(sequenceNumber: number, payload: Uint8Array): void {
    const slot = sequenceNumber % this.size;
    const length = Math.min(payload.length, (this.slots[slot] as Uint8Array).length);
    (this.slots[slot] as Uint8Array).set(payload.subarray(0, length));
    this.lengths[slot] = length;
    this.filled[slot] = 1;
    this.slotSequence[slot] = sequenceNumber;
    this.held += 1;
    this.stats.accepted += 1;
  }

  private release(): void {
    for (;;) {
      const slot = this.expected % this.size;
      if (this.filled[slot] === 1 && this.slotSequence[slot] === this.expected) {
        this.deliverNext();
      } else if (this.held > this.depth) {
        this.deliverNext();
      } else {
        return;
      }
    }
  }

  /** Delivers the expected sequence number (or conceals it) and advances. */
  private deliverNext(): void {
    const slot = this.expected % this.size;
    this.delivered[slot] = this.filled[slot] === 1 ? this.expected : -1;
    this.expected = (this.expected + 1) & 0xffff;
    if (this.filled[slot] === 1) {
      this.filled[slot] = 0;
      this.held -= 1;
      this.sink((this.slots[slot] as Uint8Array).subarray(0, this.lengths[slot]));
    } else {
      this.stats.concealed += 1;
      this.sink(undefined);
    }
  }

  private skipTo(sequenceNumber: number): void {
    while (sequenceDistance(this.expected, sequenceNumber) > 0) this.deliverNext();
  }
}
