import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './webhook-backoff.ts';

describe('webhook retry backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    const noJitter = () => 0;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, 1000, 5000, noJitter))).toEqual([1000, 2000, 4000, 5000]);
  });

  it('adds at most 20 % jitter', () => {
    expect(retryDelayMs(1, 1000, 5000, () => 1)).toBe(1200);
  });
});
