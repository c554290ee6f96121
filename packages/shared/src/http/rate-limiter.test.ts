import { describe, expect, it } from 'vitest';
import type { FastifyReply } from 'fastify';
import { appError } from '../errors/app-error.ts';
import { AuthFailureLimiter, authFailureLimiter, RateLimiter } from './rate-limiter.ts';

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

describe('AuthFailureLimiter', () => {
  const reply = () => {
    const headers: Record<string, string> = {};
    return { headers, reply: { header: (name: string, value: string) => void (headers[name] = value) } as unknown as FastifyReply };
  };
  const refused = (error: unknown) => ({ failed: true, reason: (error as { reason?: string }).reason });

  it('lets an address fail its budget, then refuses it with Retry-After until a failure is forgiven', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(3, () => now);
    for (let index = 0; index < 3; index++) {
      expect(() => limiter.assertAllowed('203.0.113.7', reply().reply)).not.toThrow();
      limiter.observe('203.0.113.7', appError('INVALID_CREDENTIALS'));
    }
    const answer = reply();
    let caught: unknown;
    try {
      limiter.assertAllowed('203.0.113.7', answer.reply);
    } catch (error) {
      caught = error;
    }
    expect(refused(caught)).toEqual({ failed: true, reason: 'RATE_LIMITED' });
    expect(answer.headers['retry-after']).toBe('20');
    // Another address has its own budget; errors other than a refused key are not failures.
    expect(() => limiter.assertAllowed('198.51.100.1', reply().reply)).not.toThrow();
    limiter.observe('198.51.100.1', appError('VALIDATION_FAILED'));
    limiter.observe('198.51.100.1', new Error('database down'));
    for (let index = 0; index < 5; index++) expect(() => limiter.assertAllowed('198.51.100.1', reply().reply)).not.toThrow();
    now += 20_000; // one failure forgiven at 3 a minute
    expect(() => limiter.assertAllowed('203.0.113.7', reply().reply)).not.toThrow();
  });

  it('is off with the rate limit (RATE_LIMIT_PER_SECOND=0) or at 0 a minute', () => {
    for (const limiter of [authFailureLimiter({ perSecond: 0, burst: 1, authFailuresPerMinute: 3 }), authFailureLimiter({ perSecond: 10, burst: 10, authFailuresPerMinute: 0 })]) {
      for (let index = 0; index < 10; index++) limiter.failed('203.0.113.7');
      expect(() => limiter.assertAllowed('203.0.113.7', reply().reply)).not.toThrow();
    }
  });
});
