import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { appError } from '../errors/app-error.ts';

/**
 * `RATE_LIMIT_PER_SECOND` / `RATE_LIMIT_BURST`: the per-key limit of every service's public
 * API (ai-manager and flow-manager read the same variables, so one key has one rule).
 */
export const rateLimitEnvironmentSchema = z.object({
  /** Sustained requests per second per access key (0 = no limit) and the burst above it. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(20),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(100),
});

/** A service's rate limit: `perSecond: 0` turns it off. */
export interface RateLimitSettings {
  perSecond: number;
  burst: number;
}

/** The limit of the platform when nothing is configured: 20 a second, bursts of 100. */
export const defaultRateLimit: RateLimitSettings = { perSecond: 20, burst: 100 };

/**
 * Per-key token buckets: each key may burst `burst` requests and then `perSecond` a second.
 * Counts live in this process, so N instances behind a balancer allow up to N times the
 * rate; the limit protects each instance rather than metering exactly.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {}

  /** Whether limiting is on (a rate of 0 turns it off). */
  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one token for `key`: 0 when allowed, else the seconds to wait before retrying. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) this.evictFull(now);
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    bucket.updatedAt = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  /** Forgets buckets that have refilled completely (they behave like new ones). */
  private evictFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}

/**
 * Charges one request to `keyId`'s bucket; over the limit it sets `Retry-After` (whole
 * seconds until a token is back) and throws 429 RATE_LIMITED with the catalog body. Call it
 * right after the key check, before any other work, as every public API does.
 */
export function enforceRateLimit(limiter: RateLimiter, keyId: string, reply: FastifyReply): void {
  const waitSeconds = limiter.take(keyId);
  if (waitSeconds <= 0) return;
  reply.header('retry-after', String(waitSeconds));
  throw appError('RATE_LIMITED');
}
