import { FRAME_MS } from './codecs.ts';

/**
 * Calls `tick` every 20 ms on a monotonic schedule (start + n * 20 ms), so timer lateness
 * never accumulates into drift. After a long stall (event loop blocked) it skips ahead
 * instead of bursting many ticks at once.
 */
export class MediaClock {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** Ticks run since the clock was created. */
  ticks = 0;
  /** How late ticks fired against their schedule (ms), for benchmarks. */
  readonly lateness = { total: 0, max: 0, skips: 0 };

  constructor(private readonly tick: (now: number) => void) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.next = performance.now() + FRAME_MS;
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const delay = Math.max(0, this.next - performance.now());
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    const now = performance.now();
    const late = now - this.next;
    this.lateness.total += late;
    if (late > this.lateness.max) this.lateness.max = late;
    if (late > 5 * FRAME_MS) {
      this.lateness.skips += 1;
      this.next = now;
    }
    this.ticks += 1;
    this.tick(now);
    this.next += FRAME_MS;
    if (this.timer) this.schedule();
  }
}
