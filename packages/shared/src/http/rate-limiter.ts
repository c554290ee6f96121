import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { appError, isAppError } from '../errors/app-error.ts';

/**
 * `RATE_LIMIT_PER_SECOND` / `RATE_LIMIT_BURST`: the per-key limit of every service's public
 * API (ai-manager and flow-manager read the same variables, so one key has one rule).
 */
export const rateLimitEnvironmentSchema = z.object({
  /** Sustained requests per second per access key (0 = no limit) and the burst above it. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).default(20),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(100),
  /**
   * Failed key checks (401) allowed per client address and minute before unknown keys from it
   * are refused with 429 unchecked (0 = no limit); see `AuthFailureLimiter`.
   */
  AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(0).default(30),
});

/** A service's rate limit: `perSecond: 0` turns it off, and the limit of failed key checks with it. */
export interface RateLimitSettings {
  perSecond: number;
  burst: number;
  /** Failed key checks per client address and minute (default 30; 0 = no limit). */
  authFailuresPerMinute?: number;
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

  /** The seconds `key` must wait for a token (0: one is there), taking none. */
  peek(key: string): number {
    if (!this.enabled) return 0;
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = Math.min(this.burst, bucket.tokens + ((this.now() - bucket.updatedAt) / 1000) * this.perSecond);
    return tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.perSecond));
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

/**
 * Failed key checks per client address (brute force of access keys): each address may fail
 * `perMinute` times at once, then once every 60/perMinute seconds. An address over its budget
 * has unknown keys refused with 429 RATE_LIMITED before they are looked up; keys already known
 * to the process (cached) still pass, so a client sharing the address (behind the same proxy)
 * with working keys goes on. Counted per process, like the per-key limit.
 */
export class AuthFailureLimiter {
  private readonly failures: RateLimiter;

  constructor(perMinute: number, now?: () => number) {
    this.failures = new RateLimiter(perMinute / 60, Math.max(1, perMinute), now);
  }

  /** Before looking an unknown key up: throws 429 (with Retry-After) while `address` is over its budget. */
  assertAllowed(address: string, reply: FastifyReply): void {
    const waitSeconds = this.failures.peek(address);
    if (waitSeconds <= 0) return;
    reply.header('retry-after', String(waitSeconds));
    throw appError('RATE_LIMITED', 'Too many failed authentications from this address; retry later.');
  }

  /** A key check from `address` failed (401 INVALID_CREDENTIALS). */
  failed(address: string): void {
    this.failures.take(address);
  }

  /** Counts a failure when `error` is a refused key. */
  observe(address: string, error: unknown): void {
    if (isAppError(error) && error.reason === 'INVALID_CREDENTIALS') this.failed(address);
  }
}

/** The failed-authentication limit of a service's settings: off with the rate limit, else 30 a minute unless set. */
export function authFailureLimiter(settings: RateLimitSettings): AuthFailureLimiter {
  return new AuthFailureLimiter(settings.perSecond > 0 ? (settings.authFailuresPerMinute ?? 30) : 0);
}
