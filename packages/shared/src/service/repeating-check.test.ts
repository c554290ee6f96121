import { describe, expect, it } from 'vitest';
import { RepeatingCheck } from './repeating-check.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('RepeatingCheck', () => {
  it('runs again after each run ends, never two at once, and goes on past a failed run', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const loop = new RepeatingCheck(5, async () => {
      runs += 1;
      running += 1;
      overlapped ||= running > 1;
      await sleep(15);
      running -= 1;
      if (runs === 2) throw new Error('one bad run');
    });
    loop.start();
    loop.start(); // a second start changes nothing
    await sleep(150);
    await loop.stop();
    expect(runs).toBeGreaterThanOrEqual(4);
    expect(overlapped).toBe(false);
  });

  it('stop waits for the run in flight, and nothing runs after it', async () => {
    let finished = 0;
    let started = 0;
    const loop = new RepeatingCheck(1, async () => {
      started += 1;
      await sleep(40);
      finished += 1;
    });
    loop.start();
    await sleep(15);
    await loop.stop();
    expect(finished).toBe(started);
    const after = started;
    await sleep(30);
    expect(started).toBe(after);
  });

  it('never runs with an interval of 0', async () => {
    let runs = 0;
    const loop = new RepeatingCheck(0, async () => {
      runs += 1;
    });
    loop.start();
    await sleep(30);
    await loop.stop();
    expect(runs).toBe(0);
  });
});
