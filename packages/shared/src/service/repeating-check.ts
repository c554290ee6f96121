/**
 * Runs `check` again and again, each run `intervalMs` after the previous one ended, never two at
 * once; the timer does not keep the process alive. With `intervalMs` 0 (or less) it never runs.
 * `stop` waits for a run in flight. The watchdogs' loop (pipelines, transcribers, liveness).
 * `check` handles its own failures (the loop goes on past a rejection, which it ignores).
 */
export class RepeatingCheck {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly intervalMs: number,
    private readonly check: () => Promise<void>,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.check()
        .catch(() => undefined)
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }
}
