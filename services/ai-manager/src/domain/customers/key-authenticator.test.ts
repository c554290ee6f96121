import type { Kysely } from 'kysely';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { AiManagerTables } from '../../db/tables.ts';
import { hashAccessKey } from './access-key-secret.ts';
import { findKeyByHash } from './customer-repository.ts';
import { KeyAuthenticator } from './key-authenticator.ts';

vi.mock('./customer-repository.ts', () => ({ findKeyByHash: vi.fn() }));

const lookup = vi.mocked(findKeyByHash);
const db = {} as Kysely<AiManagerTables>;
const live = { key_id: 'key-1', customer_id: 'customer-1' };

describe('KeyAuthenticator', () => {
  beforeEach(() => {
    lookup.mockReset();
  });

  it('looks a key up by its hash once, then answers from the cache, also without a promise', async () => {
    lookup.mockResolvedValue(live);
    const authenticator = new KeyAuthenticator(db, 60_000);
    expect(authenticator.cachedCaller('avp_key')).toBeUndefined();
    expect(await authenticator.authenticate('avp_key')).toEqual({ customerId: 'customer-1', keyId: 'key-1' });
    expect(lookup).toHaveBeenCalledWith(db, hashAccessKey('avp_key'));
    expect(authenticator.cachedCaller('avp_key')).toEqual({ customerId: 'customer-1', keyId: 'key-1' });
    expect(await authenticator.authenticate('avp_key')).toEqual({ customerId: 'customer-1', keyId: 'key-1' });
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('refuses an unknown key, and never answers it from cachedCaller', async () => {
    lookup.mockResolvedValue(undefined);
    const authenticator = new KeyAuthenticator(db, 60_000);
    await expect(authenticator.authenticate('avp_unknown')).rejects.toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect(authenticator.cachedCaller('avp_unknown')).toBeUndefined();
    await expect(authenticator.authenticate('avp_unknown')).rejects.toMatchObject({ reason: 'INVALID_CREDENTIALS' });
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('forgets revoked keys at once, also when the revocation lands while a lookup is in flight', async () => {
    const authenticator = new KeyAuthenticator(db, 60_000);
    lookup.mockResolvedValue(live);
    await authenticator.authenticate('avp_key');
    authenticator.forget({ keyId: 'key-1' });
    expect(authenticator.cachedCaller('avp_key')).toBeUndefined();

    let answer!: (row: typeof live) => void;
    lookup.mockImplementationOnce(() => new Promise((resolve) => (answer = resolve)));
    const inFlight = authenticator.authenticate('avp_key');
    authenticator.forget({ customerId: 'customer-1' });
    answer(live);
    await inFlight;
    expect(authenticator.cachedCaller('avp_key')).toBeUndefined();
  });

  it('expires cached answers after the TTL', async () => {
    vi.useFakeTimers();
    try {
      lookup.mockResolvedValue(live);
      const authenticator = new KeyAuthenticator(db, 5000);
      await authenticator.authenticate('avp_key');
      vi.advanceTimersByTime(5001);
      expect(authenticator.cachedCaller('avp_key')).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
