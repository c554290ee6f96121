import { appError, isAppError, rpcCall, type Bus, type Revocation } from '@avp/shared';

/** Who a request acts for, and with which access key (the rate limit counts per key). */
export interface Caller {
  customerId: string;
  keyId: string;
}

/** Turns an access key into its customer. */
export interface KeyVerifier {
  verify(key: string): Promise<Caller>;
  /** Whether the key was accepted lately (its answer is cached): such keys skip the failed-check limit. */
  isKnown?(key: string): boolean;
  /** Drops cached answers for a revoked key or a deleted customer (ai-manager's revocation events). */
  forget?(revocation: Revocation): void;
}

interface Entry {
  caller: Caller | undefined;
  expiresAt: number;
}

/**
 * Verifies keys with ai-manager (which owns customers and keys) over the bus, caching
 * answers (including "no such key") for `ttlMs`, so a hot path costs one RPC per key and
 * interval. ai-manager announces revocations on the bus and `forget` drops them at once; a
 * missed announcement leaves a revoked key working here for at most `ttlMs`.
 *
 * When ai-manager cannot be asked (a broker restart, ai-manager restarting: a timeout or
 * "unavailable", not a 401), a key it accepted within the last `staleForMs` is still accepted,
 * so the public API rides out the outage for known keys instead of answering 504; keys never
 * seen, or refused, still fail.
 */
export class RpcKeyVerifier implements KeyVerifier {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly bus: Bus,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10_000,
    private readonly staleForMs = 60_000,
  ) {}

  /** Whether the key was accepted lately (its answer is cached). */
  isKnown(key: string): boolean {
    const cached = this.cache.get(key);
    return cached?.caller !== undefined && cached.expiresAt > Date.now();
  }

  async verify(key: string): Promise<Caller> {
    const now = Date.now();
    const cached = this.cache.get(key);
    let caller: Caller | undefined;
    if (cached && cached.expiresAt > now) {
      caller = cached.caller;
    } else {
      try {
        const reply = await rpcCall<{ customer_id: string; accesskey_id: string }>(this.bus, 'ai-manager', 'POST', '/v1/accesskeys/verify', { key }, { publisher: 'flow-manager' });
        caller = { customerId: reply.customer_id, keyId: reply.accesskey_id };
      } catch (error) {
        if (!isAppError(error) || error.httpStatus !== 401) {
          // Could not ask: a key accepted a moment ago stays accepted through the outage.
          if (cached?.caller && now - cached.expiresAt < this.staleForMs) return cached.caller;
          throw error;
        }
        caller = undefined;
      }
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, { caller, expiresAt: now + this.ttlMs });
    }
    if (!caller) throw appError('INVALID_CREDENTIALS');
    return caller;
  }

  forget(revocation: Revocation): void {
    for (const [key, entry] of this.cache) {
      const caller = entry.caller;
      if (caller && (caller.keyId === revocation.keyId || caller.customerId === revocation.customerId)) this.cache.delete(key);
    }
  }
}
