import { describe, expect, it } from 'vitest';
import { call, createTestCustomer, startHarness } from '../harness.ts';
import type { GetContext } from './context.ts';

/** Admin API, key forms and key lifecycle. */
export function customersSuite(get: GetContext): void {
  describe('customers and access keys', () => {
    it('refuses the admin API without the admin token, or with a customer key', async () => {
      const { harness } = get();
      const missing = await call(harness, 'POST', '/v1.0/customers', { body: { name: 'x' } });
      expect(missing.status).toBe(401);
      expect(missing.body.error.reason).toBe('MISSING_CREDENTIALS');
      const customer = await createTestCustomer(harness);
      const wrong = await call(harness, 'GET', '/v1.0/customers', { key: customer.key });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.reason).toBe('INVALID_CREDENTIALS');
    });

    it('creates a customer with its first key and reads, lists and changes it', async () => {
      const { harness } = get();
      const created = await call(harness, 'POST', '/v1.0/customers', { admin: true, body: { name: 'Acme' } });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ name: 'Acme', detail: '', webhook_uri: '', tm_delete: null });
      expect(created.body.accesskey).toEqual({ id: expect.any(String), key: expect.stringMatching(/^avp_/) });
      const id = created.body.id as string;
      expect((await call(harness, 'GET', `/v1.0/customers/${id}`, { admin: true })).body.name).toBe('Acme');
      const changed = await call(harness, 'PUT', `/v1.0/customers/${id}`, { admin: true, body: { detail: 'big' } });
      expect(changed.body).toMatchObject({ name: 'Acme', detail: 'big' });
      const list = await call(harness, 'GET', '/v1.0/customers?page_size=100', { admin: true });
      expect(list.body.result.map((customer: { id: string }) => customer.id)).toContain(id);
      const self = await call(harness, 'GET', '/v1.0/customer', { key: created.body.accesskey.key });
      expect(self.body.id).toBe(id);
      expect(self.body.webhook_secret).toMatch(/^whsec_/);
    });

    it('rejects a customer without a name, and a bad webhook URI', async () => {
      const { harness } = get();
      const nameless = await call(harness, 'POST', '/v1.0/customers', { admin: true, body: {} });
      expect(nameless.status).toBe(400);
      expect(nameless.body.error.message).toContain('name');
      const badUri = await call(harness, 'POST', '/v1.0/customers', { admin: true, body: { name: 'x', webhook_uri: 'ftp://x' } });
      expect(badUri.status).toBe(400);
      expect(badUri.body.error.message).toContain('webhook_uri');
    });

    it('accepts the key as a Bearer header, ?accesskey= and ?token=', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      expect((await call(harness, 'GET', '/v1.0/ais', { key: customer.key })).status).toBe(200);
      expect((await call(harness, 'GET', `/v1.0/ais?accesskey=${customer.key}`)).status).toBe(200);
      expect((await call(harness, 'GET', `/v1.0/ais?token=${customer.key}`)).status).toBe(200);
    });

    it('answers 401 without a key or with a bad one', async () => {
      const { harness } = get();
      const none = await call(harness, 'GET', '/v1.0/ais');
      expect(none.status).toBe(401);
      expect(none.body.error).toMatchObject({ status: 'UNAUTHENTICATED', reason: 'MISSING_CREDENTIALS' });
      const bad = await call(harness, 'GET', '/v1.0/ais', { key: 'avp_not-a-key' });
      expect(bad.status).toBe(401);
      expect(bad.body.error.reason).toBe('INVALID_CREDENTIALS');
      expect(bad.headers['x-request-id']).toBe(bad.body.error.request_id);
    });

    it('issues more keys, and a revoked key stops working', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const issued = await call(harness, 'POST', `/v1.0/customers/${customer.id}/accesskeys`, { admin: true, body: { name: 'ci' } });
      expect(issued.status).toBe(200);
      expect(issued.body).toMatchObject({ name: 'ci', customer_id: customer.id, key: expect.stringMatching(/^avp_/) });
      const keys = await call(harness, 'GET', `/v1.0/customers/${customer.id}/accesskeys`, { admin: true });
      expect(keys.body.result).toHaveLength(2);
      expect(JSON.stringify(keys.body)).not.toContain(issued.body.key);
      expect((await call(harness, 'GET', '/v1.0/ais', { key: issued.body.key })).status).toBe(200);
      const revoked = await call(harness, 'DELETE', `/v1.0/customers/${customer.id}/accesskeys/${issued.body.id}`, { admin: true });
      expect(revoked.body.tm_delete).not.toBeNull();
      expect((await call(harness, 'GET', '/v1.0/ais', { key: issued.body.key })).status).toBe(401);
      expect((await call(harness, 'GET', '/v1.0/ais', { key: customer.key })).status).toBe(200);
    });

    it('revokes at once even while key lookups are cached', async () => {
      const { database } = get();
      const cached = await startHarness(database, { keyCacheTtlMs: 60_000 });
      try {
        const customer = await createTestCustomer(cached);
        const issued = await call(cached, 'POST', `/v1.0/customers/${customer.id}/accesskeys`, { admin: true });
        expect(issued.status).toBe(200);
        expect((await call(cached, 'GET', '/v1.0/ais', { key: issued.body.key })).status).toBe(200);
        await call(cached, 'DELETE', `/v1.0/customers/${customer.id}/accesskeys/${issued.body.id}`, { admin: true });
        expect((await call(cached, 'GET', '/v1.0/ais', { key: issued.body.key })).status).toBe(401);
        expect((await call(cached, 'GET', '/v1.0/ais', { key: customer.key })).status).toBe(200);
        await call(cached, 'DELETE', `/v1.0/customers/${customer.id}`, { admin: true });
        expect((await call(cached, 'GET', '/v1.0/ais', { key: customer.key })).status).toBe(401);
      } finally {
        await cached.stop();
      }
    });

    it('deleting a customer revokes its keys', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      expect((await call(harness, 'DELETE', `/v1.0/customers/${customer.id}`, { admin: true })).status).toBe(200);
      expect((await call(harness, 'GET', '/v1.0/ais', { key: customer.key })).status).toBe(401);
      expect((await call(harness, 'GET', `/v1.0/customers/${customer.id}`, { admin: true })).status).toBe(404);
    });
  });
}
