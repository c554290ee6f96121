/**
 * A 20 ms clock without drift: each tick is scheduled against the start time, so a late tick
 * shortens the next wait instead of shifting every later one. After a stall longer than five
 * frames it resumes from now rather than firing a burst.
 */
export class MediaTicker {
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(
    private readonly onTick: () => void,
    private readonly periodMs = 20,
  ) {}

  start(): void {
    if (this.timer) return;
    this.next = performance.now() + this.periodMs;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      const now = performance.now();
      if (now - this.next > 5 * this.periodMs) this.next = now;
      this.onTick();
      this.next += this.periodMs;
      if (this.timer) this.schedule();
    }, Math.max(0, this.next - performance.now()));
  }
}
