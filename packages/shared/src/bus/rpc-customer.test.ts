import { describe, expect, it } from 'vitest';
import type { RpcMethod } from '../schemas/envelopes.ts';
import { rpcCustomer } from './rpc-customer.ts';

const customer = '8f0c1e3a-5b7d-4c2e-9a1f-3d5e7b9c1a2e';

function context(method: RpcMethod, uri: string, data?: unknown) {
  return { query: new URL(uri, 'http://rpc.invalid').searchParams, data, request: { method, uri, data } };
}

describe('rpcCustomer: the customer a bus request acts for', () => {
  it('reads the query of a GET and the body of every other method, without the id in the data', () => {
    expect(rpcCustomer(context('GET', `/v1/calls/x?customer_id=${customer}`))).toEqual({ customerId: customer, data: undefined });
    expect(rpcCustomer(context('POST', '/v1/calls/x/play', { customer_id: customer.toUpperCase(), stream_urls: ['tone:440'] }))).toEqual({
      customerId: customer,
      data: { stream_urls: ['tone:440'] },
    });
    expect(rpcCustomer(context('DELETE', '/v1/bridges/x', { customer_id: customer }))).toEqual({ customerId: customer, data: {} });
  });

  it('refuses a request that names no customer, or names it in the wrong place', () => {
    const refused = (method: RpcMethod, uri: string, data?: unknown) => {
      try {
        rpcCustomer(context(method, uri, data));
        return undefined;
      } catch (error) {
        return (error as { reason?: string }).reason;
      }
    };
    expect(refused('GET', '/v1/calls/x')).toBe('VALIDATION_FAILED');
    expect(refused('GET', '/v1/calls/x', { customer_id: customer })).toBe('VALIDATION_FAILED');
    expect(refused('POST', `/v1/calls/x/answer?customer_id=${customer}`)).toBe('VALIDATION_FAILED');
    expect(refused('POST', '/v1/calls/x/answer', { customer_id: 'not-a-uuid' })).toBe('VALIDATION_FAILED');
    expect(refused('POST', '/v1/calls/x/answer', [customer])).toBe('VALIDATION_FAILED');
  });
});
