import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer } from '../harness.ts';
import type { GetContext } from './context.ts';

/** page_size / page_token on the list endpoints. */
export function paginationSuite(get: GetContext): void {
  describe('pagination', () => {
    it('pages through a list newest first without repeats or gaps', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const ids: string[] = [];
      for (let index = 0; index < 5; index++) {
        ids.push((await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody({ name: `ai ${index}` }) })).body.id);
      }
      const seen: string[] = [];
      let token = '';
      let pages = 0;
      do {
        const page = await call(harness, 'GET', `/v1.0/ais?page_size=2&page_token=${encodeURIComponent(token)}`, { key });
        expect(page.status).toBe(200);
        expect(page.body.result.length).toBeLessThanOrEqual(2);
        seen.push(...page.body.result.map((ai: { id: string }) => ai.id));
        token = page.body.next_page_token;
        pages += 1;
      } while (token !== '');
      expect(pages).toBe(3);
      expect(seen).toEqual([...ids].reverse());
    });

    it('treats page_size 0 or over 100 as 100 and rejects a non-number', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      expect((await call(harness, 'GET', '/v1.0/ais?page_size=0', { key })).body.result).toHaveLength(1);
      expect((await call(harness, 'GET', '/v1.0/ais?page_size=500', { key })).body.result).toHaveLength(1);
      const bad = await call(harness, 'GET', '/v1.0/ais?page_size=many', { key });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('page_size');
    });

    it('rejects a malformed page_token', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const bad = await call(harness, 'GET', '/v1.0/ais?page_token=yesterday', { key });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('page_token');
    });

    it('never lists soft-deleted rows and answers an empty list as []', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      expect((await call(harness, 'GET', '/v1.0/ais', { key })).body).toEqual({ result: [], next_page_token: '' });
      const kept = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const gone = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      await call(harness, 'DELETE', `/v1.0/ais/${gone.body.id}`, { key });
      const list = await call(harness, 'GET', '/v1.0/ais', { key });
      expect(list.body.result.map((ai: { id: string }) => ai.id)).toEqual([kept.body.id]);
    });
  });
}
