import { appError } from '@avp/shared';
import type { Kysely } from 'kysely';
import type { AiManagerTables } from '../../db/tables.ts';
import { hashAccessKey } from './access-key-secret.ts';
import { findKeyByHash } from './customer-repository.ts';

/** Who a request acts for. */
export interface Caller {
  customerId: string;
  keyId: string;
}

interface CacheEntry {
  caller: Caller | undefined;
  expiresAt: number;
}

/**
 * Resolves access keys to their customer. Answers (also "no such key") are cached for
 * `cacheTtlMs` so hot paths pay one hash, not one query, per request; a key revoked through
 * another instance therefore keeps working there for at most that long. Revocations and
 * deletions made through this instance call `forget` and take effect at once.
 */
export class KeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly db: Kysely<AiManagerTables>,
    private readonly cacheTtlMs = 5000,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The caller for a key when the cache holds a fresh answer that it is valid, without a
   * promise (the HTTP key check runs for every request); undefined otherwise, when
   * `authenticate` must decide.
   */
  cachedCaller(key: string): Caller | undefined {
    const cached = this.cache.get(hashAccessKey(key));
    return cached && cached.expiresAt > Date.now() ? cached.caller : undefined;
  }

  /** The caller for a key; throws 401 INVALID_CREDENTIALS for an unknown or revoked key. */
  async authenticate(key: string): Promise<Caller> {
    const hash = hashAccessKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    let caller: Caller | undefined;
    if (cached && cached.expiresAt > now) {
      caller = cached.caller;
    } else {
      const found = await findKeyByHash(this.db, hash);
      caller = found ? { customerId: found.customer_id, keyId: found.key_id } : undefined;
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      if (this.cacheTtlMs > 0) this.cache.set(hash, { caller, expiresAt: now + this.cacheTtlMs });
    }
    if (!caller) throw appError('INVALID_CREDENTIALS');
    return caller;
  }

  /** Drops cached answers for a key id or a whole customer. */
  forget(match: { keyId?: string; customerId?: string }): void {
    for (const [hash, entry] of this.cache) {
      const caller = entry.caller;
      if (!caller) continue;
      if (caller.keyId === match.keyId || caller.customerId === match.customerId) this.cache.delete(hash);
    }
  }
}
