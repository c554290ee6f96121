/** A monotonic millisecond clock (fractional). */
export interface MonotonicClock {
  now(): number;
}

/** Timer functions, injectable so tests and benchmarks can run on simulated time. */
export interface SchedulerTimers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** `performance.now()`: monotonic, sub-millisecond, immune to wall-clock changes. */
export const systemClock: MonotonicClock = { now: () => performance.now() };

export const systemTimers: SchedulerTimers = {
  setTimeout: (callback, delayMs) => {
    const handle = setTimeout(callback, delayMs);
    // Pacing alone must not keep a process alive.
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What a paced task learns on each tick. */
export interface PacedTick {
  /** Index of this slot since the task started (skipped slots are counted). */
  slot: number;
  /** Slots skipped because the process was late by more than a period (no catch-up burst). */
  skippedSlots: number;
  /** How late this tick fired against its ideal time, in ms (negative = early). */
  latenessMs: number;
  /** The tick's ideal time on the monotonic clock. */
  idealMs: number;
}

/** A task registered with {@link PacingScheduler.add}. */
export interface PacedTask {
  /** Stops the task; safe to call twice. */
  cancel(): void;
  /**
   * Takes the task's next slot now instead of at its ideal time: returns that slot's tick
   * (ideal time = now) and moves the following slots earlier by the same amount, so they stay
   * one period after it. The caller does the slot's work itself. A slot already due (a busy
   * event loop has not run the timer yet) is taken as the timer would take it, late, with any
   * missed slots skipped, and nothing moves. Returns undefined once the task was cancelled.
   * Used to put the first packet of a talkspurt on the wire at once instead of waiting up to
   * a period (or for a late timer).
   */
  takeNextSlotNow(): PacedTick | undefined;
  /**
   * Moves the task back to its own phase after {@link takeNextSlotNow} pulled it earlier (the
   * next slot comes later by what it was pulled, never skipped). Call it while idle, so the
   * longer interval falls between packets of silence, not of speech.
   */
  realign(): void;
}

interface Entry {
  /** The task's own anchor (its phase); `anchorMs` is earlier while pulled forward. */
  homeAnchorMs: number;
  anchorMs: number;
  slot: number;
  deadlineMs: number;
  callback: (tick: PacedTick) => void;
  cancelled: boolean;
}

/** Lateness thresholds (ms) counted in {@link PacingSchedulerStats.lateWakeUps}. */
export const WAKE_UP_LATENESS_THRESHOLDS_MS = [2, 5, 10, 20] as const;

/** What a scheduler counts since it was created (read by the Prometheus metrics). */
export interface PacingSchedulerStats {
  /** Timer firings that found work due. */
  wakeUps: number;
  /** Wake-ups later than each of {@link WAKE_UP_LATENESS_THRESHOLDS_MS} (same order). */
  lateWakeUps: number[];
  /** Slots skipped, summed over tasks, because the process was late by more than a period. */
  skippedSlots: number;
}

/** Options for {@link PacingScheduler}. */
export interface PacingSchedulerOptions {
  periodMs?: number;
  clock?: MonotonicClock;
  timers?: SchedulerTimers;
  /** A tick may run this much before its ideal time so a coarse timer does not add a period of lateness. */
  earlyToleranceMs?: number;
}

/**
 * Drives many periodic tasks from one timer. Each task's ideal times are `anchor + slot * period`
 * on a monotonic clock, so errors never accumulate. When the process stalls past a whole period
 * the missed slots are skipped, not replayed in a burst. Anchors are whole milliseconds spread
 * evenly over the period: tasks share wake-ups (at most `period` per period) and each wake-up
 * carries 1/period of the load.
 */
export class PacingScheduler {
  readonly periodMs: number;
  readonly stats: PacingSchedulerStats = { wakeUps: 0, lateWakeUps: WAKE_UP_LATENESS_THRESHOLDS_MS.map(() => 0), skippedSlots: 0 };
  private readonly clock: MonotonicClock;
  private readonly timers: SchedulerTimers;
  private readonly earlyToleranceMs: number;
  private readonly heap: Entry[] = [];
  private timer: unknown;
  private timerDeadline = Number.POSITIVE_INFINITY;
  /** Tasks per whole-ms phase of the period. */
  private readonly phaseLoad: number[];
  private readonly phaseCount: number;

  constructor(options: PacingSchedulerOptions = {}) {
    this.periodMs = options.periodMs ?? 20;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.earlyToleranceMs = options.earlyToleranceMs ?? 0.5;
    this.phaseCount = Math.max(1, Math.round(this.periodMs));
    this.phaseLoad = new Array<number>(this.phaseCount).fill(0);
  }

  /** Number of active tasks. */
  get size(): number {
    return this.heap.length;
  }

  /**
   * Registers a task whose first tick comes within one period. Its phase (anchor modulo
   * the period, in whole ms) is the least used one, so many calls spread their sends evenly
   * over the period instead of piling into the same wake-up.
   */
  add(callback: (tick: PacedTick) => void): PacedTask {
    const now = Math.ceil(this.clock.now());
    const phase = this.leastUsedPhase();
    // The latest time at or before now with that phase: the first tick comes within one period.
    const anchorMs = now - ((now - phase + this.phaseCount * 1000) % this.phaseCount);
    this.phaseLoad[phase] = (this.phaseLoad[phase] ?? 0) + 1;
    const entry: Entry = { homeAnchorMs: anchorMs, anchorMs, slot: 1, deadlineMs: anchorMs + this.periodMs, callback, cancelled: false };
    this.push(entry);
    this.arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.phaseLoad[phase] = Math.max(0, (this.phaseLoad[phase] ?? 0) - 1);
        const index = this.heap.indexOf(entry);
        if (index >= 0) this.removeAt(index);
      },
      takeNextSlotNow: () => this.takeNextSlotNow(entry),
      realign: () => this.realign(entry),
    };
  }

  private takeNextSlotNow(entry: Entry): PacedTick | undefined {
    if (entry.cancelled) return undefined;
    const now = this.clock.now();
    if (entry.deadlineMs <= now + this.earlyToleranceMs) {
      // Due or overdue: the slot the timer would run now, taken from it.
      const tick = this.nextTick(entry, now);
      this.reschedule(entry);
      return tick;
    }
    const slot = entry.slot;
    entry.anchorMs = now - slot * this.periodMs;
    entry.slot = slot + 1;
    this.reschedule(entry);
    return { slot, skippedSlots: 0, latenessMs: 0, idealMs: now };
  }

  /** The tick of a due entry's next slot (missed slots skipped and counted); advances the entry's slot. */
  private nextTick(entry: Entry, now: number): PacedTick {
    const behind = Math.floor((now - entry.deadlineMs) / this.periodMs);
    const skippedSlots = behind > 0 ? behind : 0;
    this.stats.skippedSlots += skippedSlots;
    entry.slot += skippedSlots;
    const idealMs = entry.anchorMs + entry.slot * this.periodMs;
    entry.slot += 1;
    return { slot: entry.slot - 1, skippedSlots, latenessMs: now - idealMs, idealMs };
  }

  private realign(entry: Entry): void {
    if (entry.cancelled || entry.anchorMs === entry.homeAnchorMs) return;
    entry.anchorMs = entry.homeAnchorMs;
    // The anchor only ever moves earlier, so going home makes the next slot later, never missed.
    this.reschedule(entry);
  }

  /** Puts an entry whose slot or anchor changed back in heap order and re-arms the timer. */
  private reschedule(entry: Entry): void {
    entry.deadlineMs = entry.anchorMs + entry.slot * this.periodMs;
    const index = this.heap.indexOf(entry);
    if (index < 0) return;
    this.removeAt(index);
    this.push(entry);
    this.arm();
  }

  /** Cancels every task and the timer. */
  stop(): void {
    for (const entry of this.heap) entry.cancelled = true;
    this.phaseLoad.fill(0);
    this.heap.length = 0;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
  }

  private leastUsedPhase(): number {
    let best = 0;
    for (let phase = 1; phase < this.phaseCount; phase += 1) {
      if ((this.phaseLoad[phase] as number) < (this.phaseLoad[best] as number)) best = phase;
    }
    return best;
  }

  private run(): void {
    this.timer = undefined;
    this.timerDeadline = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    const first = this.heap[0];
    if (first && first.deadlineMs <= now + this.earlyToleranceMs) {
      this.stats.wakeUps += 1;
      const latenessMs = now - first.deadlineMs;
      WAKE_UP_LATENESS_THRESHOLDS_MS.forEach((threshold, index) => {
        if (latenessMs > threshold) this.stats.lateWakeUps[index] = (this.stats.lateWakeUps[index] as number) + 1;
      });
    }
    while (this.heap.length > 0) {
      const entry = this.heap[0] as Entry;
      if (entry.deadlineMs > now + this.earlyToleranceMs) break;
      const tick = this.nextTick(entry, now);
      entry.deadlineMs = entry.anchorMs + entry.slot * this.periodMs;
      this.siftDown(0);
      try {
        entry.callback(tick);
      } catch {
        // A failing task must not stop the others; the task reports its own errors.
      }
    }
    this.arm();
  }

  private arm(): void {
    const next = this.heap[0];
    if (!next) return;
    if (this.timer !== undefined && this.timerDeadline <= next.deadlineMs) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    const delay = Math.max(0, next.deadlineMs - this.clock.now() - this.earlyToleranceMs);
    this.timerDeadline = next.deadlineMs;
    this.timer = this.timers.setTimeout(() => this.run(), delay);
  }

  private push(entry: Entry): void {
    this.heap.push(entry);
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if ((this.heap[parent] as Entry).deadlineMs <= entry.deadlineMs) break;
      this.heap[index] = this.heap[parent] as Entry;
      index = parent;
    }
    this.heap[index] = entry;
  }

  private removeAt(index: number): void {
    const last = this.heap.pop() as Entry;
    if (index < this.heap.length) {
      this.heap[index] = last;
      this.siftDown(index);
      // The moved entry may also need to rise.
      let child = index;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if ((this.heap[parent] as Entry).deadlineMs <= (this.heap[child] as Entry).deadlineMs) break;
        [this.heap[parent], this.heap[child]] = [this.heap[child] as Entry, this.heap[parent] as Entry];
        child = parent;
      }
    }
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let index = start;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && (heap[left] as Entry).deadlineMs < (heap[smallest] as Entry).deadlineMs) smallest = left;
      if (right < heap.length && (heap[right] as Entry).deadlineMs < (heap[smallest] as Entry).deadlineMs) smallest = right;
      if (smallest === index) return;
      [heap[index], heap[smallest]] = [heap[smallest] as Entry, heap[index] as Entry];
      index = smallest;
    }
  }
}

let sharedScheduler: PacingScheduler | undefined;

/** The process-wide 20 ms scheduler shared by every transport unless one is injected. */
export function sharedPacingScheduler(): PacingScheduler {
  sharedScheduler ??= new PacingScheduler();
  return sharedScheduler;
}

/**
 * Simulated time for tests and benchmarks: `advance` moves the clock and fires due timers in
 * order, optionally adding a lateness to each firing to imitate a busy event loop.
 */
export class SimulatedTime implements MonotonicClock, SchedulerTimers {
  private current = 0;
  private sequence = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  constructor(private readonly firingDelay: () => number = () => 0) {}

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    this.sequence += 1;
    this.pending.set(this.sequence, { at: this.current + Math.max(0, delayMs) + this.firingDelay(), callback });
    return this.sequence;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Runs the simulation forward by `ms`. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.pending) {
        if (timer.at < nextAt) {
          nextAt = timer.at;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > end) break;
      const timer = this.pending.get(nextId) as { at: number; callback: () => void };
      this.pending.delete(nextId);
      this.current = Math.max(this.current, nextAt);
      timer.callback();
    }
    this.current = end;
  }
}
