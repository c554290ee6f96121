import { describe, expect, it } from 'vitest';
import { PacingScheduler, SimulatedTime, type PacedTick } from './pacing-scheduler.ts';

describe('PacingScheduler', () => {
  it('keeps every tick on the 20 ms grid however late timers fire (no cumulative drift)', () => {
    let seed = 7;
    const time = new SimulatedTime(() => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return (seed / 2_147_483_648) * 3; // timers fire 0-3 ms late
    });
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    const ticks: PacedTick[] = [];
    scheduler.add((tick) => ticks.push(tick));
    time.advance(60_000);
    scheduler.stop();
    expect(ticks.length).toBeGreaterThanOrEqual(2999);
    ticks.forEach((tick, index) => {
      expect(tick.idealMs).toBe(20 * (index + 1));
      expect(tick.slot).toBe(index + 1);
    });
    expect(Math.max(...ticks.map((tick) => tick.latenessMs))).toBeLessThan(3.5);
  });

  it('skips missed slots after a stall instead of bursting', () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    const ticks: PacedTick[] = [];
    scheduler.add((tick) => ticks.push(tick));
    time.advance(100);
    expect(ticks.map((tick) => tick.slot)).toEqual([1, 2, 3, 4, 5]);
    // Simulate a blocked event loop: the clock jumps 95 ms before any timer can fire.
    const blockedFrom = time.now();
    (time as unknown as { current: number }).current = blockedFrom + 95;
    time.advance(0);
    expect(ticks.slice(5).map((tick) => tick.slot)).toEqual([9]);
    expect(ticks[5]?.skippedSlots).toBe(3);
    // Counted for the metrics: six wake-ups, one of them late past every threshold.
    expect(scheduler.stats).toEqual({ wakeUps: 6, lateWakeUps: [1, 1, 1, 1], skippedSlots: 3 });
    time.advance(15);
    expect(ticks.slice(6).map((tick) => tick.slot)).toEqual([10]);
    scheduler.stop();
  });

  it('spreads tasks over distinct phases and stops a cancelled one', () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    const ticks: Array<Array<{ idealMs: number }>> = [[], [], []];
    const tasks = ticks.map((list) => scheduler.add((tick) => list.push(tick)));
    time.advance(200);
    expect(new Set(ticks.map((list) => (list[0]?.idealMs ?? -1) % 20))).toEqual(new Set([0, 1, 2]));
    tasks[1]?.cancel();
    const cancelledCount = ticks[1]?.length;
    time.advance(200);
    expect(ticks[1]?.length).toBe(cancelledCount);
    expect(ticks[0]?.length).toBe(20);
    expect(scheduler.size).toBe(2);
    // A new task takes the freed phase.
    const fresh: Array<{ idealMs: number }> = [];
    scheduler.add((tick) => fresh.push(tick));
    time.advance(40);
    expect((fresh[0]?.idealMs ?? -1) % 20).toBe(1);
    scheduler.stop();
  });
  it('takes a task\'s next slot at once, keeps the slots after it a period apart, and realigns it when asked', () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    const ticks: PacedTick[] = [];
    const task = scheduler.add((tick) => ticks.push(tick));
    time.advance(47);
    expect(ticks.map((tick) => tick.idealMs)).toEqual([20, 40]);
    // Slot 3 was due at 60: it is taken now, at 47, and slot 4 follows at 67, not 80.
    const taken = task.takeNextSlotNow();
    expect(taken).toEqual({ slot: 3, skippedSlots: 0, latenessMs: 0, idealMs: 47 });
    time.advance(40);
    expect(ticks.slice(2).map((tick) => [tick.slot, tick.idealMs])).toEqual([
      [4, 67],
      [5, 87],
    ]);
    // Back on its own phase: slot 6 at 120 (later, never skipped), then every 20 ms.
    task.realign();
    time.advance(60);
    expect(ticks.slice(4).map((tick) => [tick.slot, tick.idealMs, tick.skippedSlots])).toEqual([
      [6, 120, 0],
      [7, 140, 0],
    ]);
    // A slot already due (the event loop was blocked past it) is taken as the timer would take
    // it: late, missed slots skipped, the following ones where they were.
    (time as unknown as { current: number }).current = 205;
    expect(task.takeNextSlotNow()).toEqual({ slot: 10, skippedSlots: 2, latenessMs: 5, idealMs: 200 });
    time.advance(15);
    expect(ticks.slice(6).map((tick) => [tick.slot, tick.idealMs])).toEqual([[11, 220]]);
    task.cancel();
    expect(task.takeNextSlotNow()).toBeUndefined();
    scheduler.stop();
  });
});
