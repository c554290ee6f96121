import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the seconds to wait, then refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(1);
    now += 500; // one token back at 2 per second
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
  });

  it('keeps separate buckets per key', () => {
    const now = 0;
    const limiter = new RateLimiter(1, 1, () => now);
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
  });

  it('says how long to wait when the rate is slow', () => {
    const limiter = new RateLimiter(0.1, 1, () => 0);
    limiter.take('a');
    expect(limiter.take('a')).toBe(10);
  });

  it('never refuses when the rate is 0 (off)', () => {
    const limiter = new RateLimiter(0, 0, () => 0);
    for (let index = 0; index < 10; index++) expect(limiter.take('a')).toBe(0);
  });
});
