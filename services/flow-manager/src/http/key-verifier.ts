import { appError, isAppError, rpcCall, type Bus } from '@avp/shared';

/** Who a request acts for. */
export interface Caller {
  customerId: string;
}

/** Turns an access key into its customer. */
export interface KeyVerifier {
  verify(key: string): Promise<Caller>;
}

interface Entry {
  caller: Caller | undefined;
  expiresAt: number;
}

/**
 * Verifies keys with ai-manager (which owns customers and keys) over the bus, caching
 * answers (including "no such key") for `ttlMs`, so a hot path costs one RPC per key and
 * interval. A key revoked in ai-manager keeps working here for at most `ttlMs`.
 */
export class RpcKeyVerifier implements KeyVerifier {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly bus: Bus,
    private readonly ttlMs = 5000,
    private readonly maxEntries = 10_000,
  ) {}

  async verify(key: string): Promise<Caller> {
    const now = Date.now();
    const cached = this.cache.get(key);
    let caller: Caller | undefined;
    if (cached && cached.expiresAt > now) {
      caller = cached.caller;
    } else {
      try {
        const reply = await rpcCall<{ customer_id: string }>(this.bus, 'ai-manager', 'POST', '/v1/accesskeys/verify', { key }, { publisher: 'flow-manager' });
        caller = { customerId: reply.customer_id };
      } catch (error) {
        if (!isAppError(error) || error.httpStatus !== 401) throw error;
        caller = undefined;
      }
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, { caller, expiresAt: now + this.ttlMs });
    }
    if (!caller) throw appError('INVALID_CREDENTIALS');
    return caller;
  }
}
