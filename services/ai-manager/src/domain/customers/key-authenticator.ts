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
 * `cacheTtlMs` so hot paths pay one map lookup, not one query (nor a hash), per request; a
 * key revoked through another instance therefore keeps working there for at most that long.
 * Revocations and deletions made through this instance (or announced on the bus) call
 * `forget` and take effect at once, also for a lookup that was in flight at that moment.
 * The cache is keyed by the key as sent (it lives only in this process's memory, like the
 * request that carried it) and holds at most `maxEntries` answers.
 */
export class KeyAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  /** Bumped by `forget`: a lookup that started before does not cache its answer. */
  private generation = 0;

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
    const cached = this.cache.get(key);
    return cached && cached.expiresAt > Date.now() ? cached.caller : undefined;
  }

  /** The caller for a key; throws 401 INVALID_CREDENTIALS for an unknown or revoked key. */
  async authenticate(key: string): Promise<Caller> {
    const now = Date.now();
    const cached = this.cache.get(key);
    let caller: Caller | undefined;
    if (cached && cached.expiresAt > now) {
      caller = cached.caller;
    } else {
      const generation = this.generation;
      const found = await findKeyByHash(this.db, hashAccessKey(key));
      caller = found ? { customerId: found.customer_id, keyId: found.key_id } : undefined;
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      if (this.cacheTtlMs > 0 && generation === this.generation) this.cache.set(key, { caller, expiresAt: now + this.cacheTtlMs });
    }
    if (!caller) throw appError('INVALID_CREDENTIALS');
    return caller;
  }

  /** Drops cached answers for a key id or a whole customer. */
  forget(match: { keyId?: string; customerId?: string }): void {
    this.generation += 1;
    for (const [key, entry] of this.cache) {
      const caller = entry.caller;
      if (!caller) continue;
      if (caller.keyId === match.keyId || caller.customerId === match.customerId) this.cache.delete(key);
    }
  }
}
