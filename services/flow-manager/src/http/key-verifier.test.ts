import { appError, createInProcessBus, type RpcResponse } from '@avp/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RpcKeyVerifier } from './key-verifier.ts';

describe('RpcKeyVerifier', () => {
  afterEach(() => vi.useRealTimers());

  /** ai-manager's verify route over an in-process bus; `down` makes it answer 503 (it cannot be asked). */
  async function setup() {
    const bus = createInProcessBus();
    const state = { down: false, asked: 0 };
    await bus.serve('ai-manager', async (request): Promise<RpcResponse> => {
      state.asked++;
      if (state.down) throw appError('SERVICE_UNAVAILABLE');
      const { key } = request.data as { key: string };
      if (key === 'good') return { status_code: 200, data: { customer_id: 'c1', accesskey_id: 'k1' } };
      throw appError('INVALID_CREDENTIALS');
    });
    return { verifier: new RpcKeyVerifier(bus, 5000, 100, 60_000), state };
  }

  it('caches answers for ttlMs, then asks again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, state } = await setup();
    await expect(verifier.verify('good')).resolves.toEqual({ customerId: 'c1', keyId: 'k1' });
    await verifier.verify('good');
    expect(state.asked).toBe(1);
    vi.setSystemTime(Date.now() + 5001);
    await verifier.verify('good');
    expect(state.asked).toBe(2);
  });

  it('keeps accepting a key it accepted while ai-manager cannot be asked, for staleForMs only', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, state } = await setup();
    await verifier.verify('good');
    state.down = true;
    vi.setSystemTime(Date.now() + 30_000);
    await expect(verifier.verify('good')).resolves.toEqual({ customerId: 'c1', keyId: 'k1' });
    vi.setSystemTime(Date.now() + 40_000); // 65 s past the answer's expiry
    await expect(verifier.verify('good')).rejects.toMatchObject({ httpStatus: 503 });
  });

  it('never accepts an unknown or refused key during an outage, nor one revoked before it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, state } = await setup();
    await expect(verifier.verify('bad')).rejects.toMatchObject({ httpStatus: 401 });
    await verifier.verify('good');
    verifier.forget({ keyId: 'k1' });
    state.down = true;
    vi.setSystemTime(Date.now() + 6000);
    await expect(verifier.verify('bad')).rejects.toMatchObject({ httpStatus: 503 });
    await expect(verifier.verify('good')).rejects.toMatchObject({ httpStatus: 503 });
    await expect(verifier.verify('never-seen')).rejects.toMatchObject({ httpStatus: 503 });
  });
});
