/**
 * A bounded first-in first-out buffer of PCM16 samples. When a write would exceed the
 * capacity, the oldest samples are dropped (and counted), so a producer that runs ahead
 * can never grow memory without limit.
 */
export class SampleFifo {
  private chunks: Int16Array[] = [];
  private offset = 0;
  private total = 0;
  /** Samples dropped because the buffer was full. */
  dropped = 0;

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.total;
  }

  write(samples: Int16Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.total += samples.length;
    if (this.total > this.capacity) this.discard(this.total - this.capacity);
  }

  /** Reads exactly `count` samples, or null when fewer are buffered (unless `pad` is set). */
  read(count: number, pad = false): Int16Array | null {
    if (this.total === 0 || (this.total < count && !pad)) return null;
    const out = new Int16Array(count);
    let filled = 0;
    while (filled < count && this.chunks.length > 0) {
      const chunk = this.chunks[0] as Int16Array;
      const take = Math.min(count - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + take), filled);
      filled += take;
      this.offset += take;
      if (this.offset >= chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.total -= filled;
    return out;
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.total = 0;
  }

  private discard(count: number): void {
    let left = count;
    while (left > 0 && this.chunks.length > 0) {
      const chunk = this.chunks[0] as Int16Array;
      const available = chunk.length - this.offset;
      if (available <= left) {
        this.chunks.shift();
        this.offset = 0;
        left -= available;
      } else {
        this.offset += left;
        left = 0;
      }
    }
    this.total -= count - left;
    this.dropped += count - left;
  }
}
