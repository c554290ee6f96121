import { maxKnowledgebaseDocumentChars } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { call, createTestCustomer, eventually } from '../harness.ts';
import type { GetContext } from './context.ts';
import { addDocument, createKnowledgebase, hoursDocument, refundsDocument, search } from './knowledgebase-fixtures.ts';

/** `/v1.0/knowledgebases` and their documents: CRUD, events, validation and the size limit. */
export function knowledgebasesSuite(get: GetContext): void {
  describe('knowledge bases', () => {
    it('creates, reads, lists, replaces and deletes a knowledge base, with events', async () => {
      const { harness } = get();
      const { key, id: customerId } = await createTestCustomer(harness);
      const created = await call(harness, 'POST', '/v1.0/knowledgebases', { key, body: { name: 'help', detail: 'support articles', language: 'en-US' } });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ name: 'help', detail: 'support articles', language: 'en-US', customer_id: customerId, tm_delete: null });
      const id = created.body.id as string;
      expect((await call(harness, 'GET', `/v1.0/knowledgebases/${id}`, { key })).body).toEqual(created.body);
      expect((await call(harness, 'GET', '/v1.0/knowledgebases', { key })).body).toEqual({ result: [created.body], next_page_token: '' });

      // PUT replaces name and detail and keeps a language it is not given.
      const replaced = await call(harness, 'PUT', `/v1.0/knowledgebases/${id}`, { key, body: { name: 'renamed' } });
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ name: 'renamed', detail: '', language: 'en-US' });
      expect(replaced.body.tm_update > created.body.tm_update).toBe(true);

      const deleted = await call(harness, 'DELETE', `/v1.0/knowledgebases/${id}`, { key });
      expect(deleted.status).toBe(200);
      expect(deleted.body.tm_delete).not.toBeNull();
      for (const [method, url] of [
        ['GET', `/v1.0/knowledgebases/${id}`],
        ['DELETE', `/v1.0/knowledgebases/${id}`],
        ['GET', `/v1.0/knowledgebases/${id}/documents`],
        ['GET', `/v1.0/knowledgebases/${id}/search?q=help`],
      ] as const) {
        expect((await call(harness, method, url, { key })).status, `${method} ${url}`).toBe(404);
      }
      expect((await call(harness, 'GET', '/v1.0/knowledgebases', { key })).body.result).toEqual([]);
      for (const type of ['knowledgebase_created', 'knowledgebase_updated', 'knowledgebase_deleted']) {
        await eventually(() => harness.events.find((event) => event.type === type && (event.data as { id: string }).id === id));
      }
    });

    it('stores documents split into passages, lists them without content, deletes them', async () => {
      const { harness } = get();
      const { key, id: customerId } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key);
      const added = await addDocument(harness, key, knowledgebaseId, refundsDocument);
      expect(added.body).toMatchObject({
        ...refundsDocument,
        customer_id: customerId,
        knowledgebase_id: knowledgebaseId,
        content_length: refundsDocument.content.length,
        tm_delete: null,
      });
      expect(added.body.passage_count).toBeGreaterThanOrEqual(3);
      const documentId = added.body.id as string;
      const hours = await addDocument(harness, key, knowledgebaseId, { name: hoursDocument.name, content: hoursDocument.content });
      expect(hours.body).toMatchObject({ source: '', passage_count: 1 });

      const url = `/v1.0/knowledgebases/${knowledgebaseId}/documents`;
      expect((await call(harness, 'GET', `${url}/${documentId}`, { key })).body).toEqual(added.body);
      const list = await call(harness, 'GET', `${url}?page_size=1`, { key });
      const { content: _content, ...summary } = hours.body;
      expect(list.body.result).toEqual([summary]);
      expect(list.body.next_page_token).not.toBe('');
      const next = await call(harness, 'GET', `${url}?page_size=1&page_token=${encodeURIComponent(list.body.next_page_token)}`, { key });
      expect(next.body.result.map((document: { id: string }) => document.id)).toEqual([documentId]);
      expect(next.body.next_page_token).toBe('');

      expect((await search(harness, key, knowledgebaseId, 'damaged refund')).map((passage) => passage.document_id)).toContain(documentId);
      const deleted = await call(harness, 'DELETE', `${url}/${documentId}`, { key });
      expect(deleted.status).toBe(200);
      expect(deleted.body.tm_delete).not.toBeNull();
      expect((await call(harness, 'GET', `${url}/${documentId}`, { key })).status).toBe(404);
      expect((await call(harness, 'DELETE', `${url}/${documentId}`, { key })).status).toBe(404);
      expect((await call(harness, 'GET', url, { key })).body.result.map((document: { id: string }) => document.id)).toEqual([hours.body.id]);
      // A deleted document is no longer searched.
      expect(await search(harness, key, knowledgebaseId, 'damaged refund')).toEqual([]);
      // A document is found only under its own knowledge base.
      const otherKnowledgebase = await createKnowledgebase(harness, key);
      expect((await call(harness, 'GET', `/v1.0/knowledgebases/${otherKnowledgebase}/documents/${hours.body.id}`, { key })).status).toBe(404);
    });

    it('rejects invalid knowledge bases, documents and searches with 400 naming the field', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key);
      const cases: [string, string, unknown, string][] = [
        ['POST', '/v1.0/knowledgebases', { language: 'english!' }, 'language'],
        ['POST', '/v1.0/knowledgebases', { name: 'x'.repeat(256) }, 'name'],
        ['POST', '/v1.0/knowledgebases', { colour: 'blue' }, 'colour'],
        ['PUT', `/v1.0/knowledgebases/${knowledgebaseId}`, { detail: 7 }, 'detail'],
        ['POST', `/v1.0/knowledgebases/${knowledgebaseId}/documents`, { content: 'text' }, 'name'],
        ['POST', `/v1.0/knowledgebases/${knowledgebaseId}/documents`, { name: 'empty', content: '  \n ' }, 'content'],
        ['POST', `/v1.0/knowledgebases/${knowledgebaseId}/documents`, { name: 'n', content: 'c', source: 5 }, 'source'],
        ['POST', `/v1.0/knowledgebases/${knowledgebaseId}/documents`, { name: 'n', content: 'c', extra: true }, 'extra'],
        ['GET', `/v1.0/knowledgebases/${knowledgebaseId}/search`, undefined, 'q'],
        ['GET', `/v1.0/knowledgebases/${knowledgebaseId}/search?q=%20`, undefined, 'q'],
        ['GET', `/v1.0/knowledgebases/${knowledgebaseId}/search?q=refund&limit=0`, undefined, 'limit'],
        ['GET', `/v1.0/knowledgebases/${knowledgebaseId}/search?q=refund&limit=21`, undefined, 'limit'],
      ];
      for (const [method, url, body, field] of cases) {
        const response = await call(harness, method as 'GET' | 'POST' | 'PUT', url, { key, body });
        expect(response.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
        expect(response.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED' });
        expect(response.body.error.message).toContain(field);
      }
      const badId = await call(harness, 'GET', `/v1.0/knowledgebases/${knowledgebaseId}/documents/not-a-uuid`, { key });
      expect(badId.status).toBe(400);
      expect(badId.body.error).toMatchObject({ reason: 'INVALID_ID' });
      expect(badId.body.error.message).toContain('document_id');
    });

    it('answers a document over the size limit with a clear 400, and takes one at the limit', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key);
      const url = `/v1.0/knowledgebases/${knowledgebaseId}/documents`;
      const tooLong = await call(harness, 'POST', url, { key, body: { name: 'big', content: 'a'.repeat(maxKnowledgebaseDocumentChars + 1) } });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.error.reason).toBe('VALIDATION_FAILED');
      expect(tooLong.body.error.message).toContain(`content: must be at most ${maxKnowledgebaseDocumentChars} characters`);
      const words = 'warranty claims are handled by the service desk. '.repeat(Math.floor(maxKnowledgebaseDocumentChars / 50));
      const atLimit = await call(harness, 'POST', url, { key, body: { name: 'big', content: words } });
      expect(atLimit.status).toBe(200);
      expect(atLimit.body.passage_count).toBeGreaterThan(190);
      expect(await search(harness, key, knowledgebaseId, 'warranty', 20)).toHaveLength(20);
    });
  });
}
