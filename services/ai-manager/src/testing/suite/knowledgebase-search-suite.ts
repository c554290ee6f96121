import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually } from '../harness.ts';
import type { GetContext } from './context.ts';
import { addDocument, createKnowledgebase, executeTool, hoursDocument, refundsDocument, search, shippingDocument, withoutRequestId } from './knowledgebase-fixtures.ts';

/** Knowledge base search, isolation between customers, AIs' knowledgebase_ids and the search_knowledge tool. */
export function knowledgebaseSearchSuite(get: GetContext): void {
  describe('knowledge bases', () => {
    it('ranks the most relevant passage first, with its document and source', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key);
      const refunds = await addDocument(harness, key, knowledgebaseId, refundsDocument);
      const shipping = await addDocument(harness, key, knowledgebaseId, shippingDocument);
      await addDocument(harness, key, knowledgebaseId, hoursDocument);

      const found = await search(harness, key, knowledgebaseId, 'refund for a damaged item');
      expect(found.length).toBeGreaterThanOrEqual(2);
      expect(found[0]).toMatchObject({
        knowledgebase_id: knowledgebaseId,
        document_id: refunds.body.id,
        document_name: 'Returns and refunds',
        source: 'https://acme.example/help/refunds',
        position: 2,
      });
      expect(found[0]!.content).toMatch(/^Damaged items can be returned within 30 days/);
      expect(found[0]!.content.length).toBeLessThanOrEqual(1000);
      // The shipping page mentions refunds too, but less: it comes later.
      expect(found.map((passage) => passage.document_id)).toContain(shipping.body.id);
      expect(found.findIndex((passage) => passage.document_id === shipping.body.id)).toBeGreaterThan(0);
      expect(found.map((passage) => passage.rank)).toEqual([...found.map((passage) => passage.rank)].sort((a, b) => b - a));
      // English stemming: "closed on sundays" finds "On Sunday the shop is closed".
      const sunday = await search(harness, key, knowledgebaseId, 'closed on sundays');
      expect(sunday[0]).toMatchObject({ document_name: 'Opening hours', source: 'hours.txt', position: 0 });
      expect(await search(harness, key, knowledgebaseId, 'zeppelin')).toEqual([]);
      // Only stop words: nothing to look for.
      expect(await search(harness, key, knowledgebaseId, 'the of and')).toEqual([]);
    });

    it('returns the top 5 by default and at most limit', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key);
      for (let index = 0; index < 8; index++) {
        await addDocument(harness, key, knowledgebaseId, { name: `product ${index}`, content: `Product ${index} comes with a two year warranty.` });
      }
      expect(await search(harness, key, knowledgebaseId, 'warranty')).toHaveLength(5);
      expect(await search(harness, key, knowledgebaseId, 'warranty', 2)).toHaveLength(2);
      expect(await search(harness, key, knowledgebaseId, 'warranty', 20)).toHaveLength(8);
    });

    it('matches plain words without a language, and stems once the language is set', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const knowledgebaseId = await createKnowledgebase(harness, key, { language: undefined });
      expect((await call(harness, 'GET', `/v1.0/knowledgebases/${knowledgebaseId}`, { key })).body.language).toBe('');
      await addDocument(harness, key, knowledgebaseId, shippingDocument);
      expect(await search(harness, key, knowledgebaseId, 'refund')).toEqual([]);
      expect(await search(harness, key, knowledgebaseId, 'REFUNDED')).toHaveLength(1);
      // Setting the language re-indexes the documents already there.
      const english = await call(harness, 'PUT', `/v1.0/knowledgebases/${knowledgebaseId}`, { key, body: { name: 'help', language: 'en-GB' } });
      expect(english.body.language).toBe('en-GB');
      expect(await search(harness, key, knowledgebaseId, 'refund')).toHaveLength(1);
    });

    it("answers another customer's knowledge bases and documents exactly like missing ones, and never searches them", async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness, 'owner');
      const other = await createTestCustomer(harness, 'other');
      const knowledgebaseId = await createKnowledgebase(harness, owner.key);
      const document = await addDocument(harness, owner.key, knowledgebaseId, refundsDocument);
      const otherKnowledgebase = await createKnowledgebase(harness, other.key);
      await addDocument(harness, other.key, otherKnowledgebase, { name: 'other refunds', content: 'Refund for damaged items: the other company refunds nothing.' });

      const requests: [('GET' | 'PUT' | 'DELETE' | 'POST'), (id: string) => string, unknown?][] = [
        ['GET', (id) => `/v1.0/knowledgebases/${id}`],
        ['PUT', (id) => `/v1.0/knowledgebases/${id}`, { name: 'mine now' }],
        ['DELETE', (id) => `/v1.0/knowledgebases/${id}`],
        ['GET', (id) => `/v1.0/knowledgebases/${id}/documents`],
        ['POST', (id) => `/v1.0/knowledgebases/${id}/documents`, { name: 'n', content: 'c' }],
        ['GET', (id) => `/v1.0/knowledgebases/${id}/search?q=refund`],
        ['GET', (id) => `/v1.0/knowledgebases/${id}/documents/${document.body.id}`],
        ['DELETE', (id) => `/v1.0/knowledgebases/${id}/documents/${document.body.id}`],
      ];
      for (const [method, url, body] of requests) {
        const foreign = await call(harness, method, url(knowledgebaseId), { key: other.key, body });
        const missing = await call(harness, method, url(randomUUID()), { key: other.key, body });
        expect(foreign.status, `${method} ${url(':id')}`).toBe(404);
        expect(withoutRequestId(foreign)).toEqual(withoutRequestId(missing));
      }
      // The other customer's own knowledge base cannot reach the owner's document either.
      const crossDocument = await call(harness, 'GET', `/v1.0/knowledgebases/${otherKnowledgebase}/documents/${document.body.id}`, { key: other.key });
      const missingDocument = await call(harness, 'GET', `/v1.0/knowledgebases/${otherKnowledgebase}/documents/${randomUUID()}`, { key: other.key });
      expect(withoutRequestId(crossDocument)).toEqual(withoutRequestId(missingDocument));
      // Searches stay inside the customer.
      const ownerResults = await search(harness, owner.key, knowledgebaseId, 'refund damaged');
      expect(ownerResults.length).toBeGreaterThan(0);
      expect(ownerResults.every((passage) => passage.knowledgebase_id === knowledgebaseId)).toBe(true);
      expect((await search(harness, other.key, otherKnowledgebase, 'refund damaged')).map((passage) => passage.document_name)).toEqual(['other refunds']);
      expect((await call(harness, 'GET', '/v1.0/knowledgebases', { key: other.key })).body.result.map((row: { id: string }) => row.id)).toEqual([otherKnowledgebase]);
      expect((await call(harness, 'GET', `/v1.0/knowledgebases/${knowledgebaseId}`, { key: owner.key })).body.name).toBe('help center');
    });

    it('links knowledge bases to an AI: checked on write, kept by a PUT without them, removed when deleted', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness, 'owner');
      const other = await createTestCustomer(harness, 'other');
      const first = await createKnowledgebase(harness, owner.key);
      const second = await createKnowledgebase(harness, owner.key);
      const foreign = await createKnowledgebase(harness, other.key);

      const created = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody({ knowledgebase_ids: [first.toUpperCase(), second] }) });
      expect(created.status).toBe(200);
      expect(created.body.knowledgebase_ids).toEqual([first, second]);
      const aiId = created.body.id as string;
      expect((await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() })).body.knowledgebase_ids).toEqual([]);

      const kept = await call(harness, 'PUT', `/v1.0/ais/${aiId}`, { key: owner.key, body: aiBody({ name: 'renamed' }) });
      expect(kept.body).toMatchObject({ name: 'renamed', knowledgebase_ids: [first, second] });

      for (const ids of [[foreign], [randomUUID()], [first, foreign]]) {
        const rejected = await call(harness, 'PUT', `/v1.0/ais/${aiId}`, { key: owner.key, body: aiBody({ knowledgebase_ids: ids }) });
        expect(rejected.status).toBe(404);
        expect(rejected.body.error.reason).toBe('RESOURCE_NOT_FOUND');
        const createdWith = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody({ knowledgebase_ids: ids }) });
        expect(createdWith.status).toBe(404);
      }
      for (const ids of [[first, first], ['not-a-uuid']]) {
        const invalid = await call(harness, 'PUT', `/v1.0/ais/${aiId}`, { key: owner.key, body: aiBody({ knowledgebase_ids: ids }) });
        expect(invalid.status).toBe(400);
        expect(invalid.body.error.message).toContain('knowledgebase_ids');
      }
      expect((await call(harness, 'GET', `/v1.0/ais/${aiId}`, { key: owner.key })).body.knowledgebase_ids).toEqual([first, second]);

      // Deleting a knowledge base takes it out of the AI, with ai_updated.
      expect((await call(harness, 'DELETE', `/v1.0/knowledgebases/${first}`, { key: owner.key })).status).toBe(200);
      const after = await call(harness, 'GET', `/v1.0/ais/${aiId}`, { key: owner.key });
      expect(after.body.knowledgebase_ids).toEqual([second]);
      const event = await eventually(() =>
        harness.events.find(
          (candidate) =>
            candidate.type === 'ai_updated' && (candidate.data as { id: string; knowledgebase_ids: string[] }).id === aiId && (candidate.data as { knowledgebase_ids: string[] }).knowledgebase_ids.length === 1,
        ),
      );
      expect(event.data).toEqual(after.body);
      const cleared = await call(harness, 'PUT', `/v1.0/ais/${aiId}`, { key: owner.key, body: aiBody({ knowledgebase_ids: [] }) });
      expect(cleared.body.knowledgebase_ids).toEqual([]);
    });

    it('search_knowledge gives the AI the top passages of its own knowledge bases with their sources', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness, 'owner');
      const other = await createTestCustomer(harness, 'other');
      const help = await createKnowledgebase(harness, owner.key);
      const products = await createKnowledgebase(harness, owner.key, { name: 'products' });
      const unlinked = await createKnowledgebase(harness, owner.key, { name: 'internal' });
      const refunds = await addDocument(harness, owner.key, help, refundsDocument);
      await addDocument(harness, owner.key, help, shippingDocument);
      await addDocument(harness, owner.key, help, hoursDocument);
      for (let index = 0; index < 6; index++) {
        await addDocument(harness, owner.key, products, { name: `product ${index}`, content: `Product ${index}: a refund is possible for damaged items.` });
      }
      await addDocument(harness, owner.key, unlinked, { name: 'secret', content: 'Internal: zeppelin refunds for damaged items.' });
      const foreign = await createKnowledgebase(harness, other.key);
      await addDocument(harness, other.key, foreign, { name: 'foreign', content: 'Zeppelin refund for a damaged item, full refund.' });

      const ai = await call(harness, 'POST', '/v1.0/ais', {
        key: owner.key,
        body: aiBody({ tool_names: ['search_knowledge'], knowledgebase_ids: [help, products] }),
      });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      expect(aicall.status).toBe(200);

      const found = await executeTool(harness, aicall.body, 'search_knowledge', { query: 'refund damaged item' });
      expect(found).toMatchObject({ tool_call_id: 'call-1', result: 'success', resource_type: 'knowledgebase', resource_id: '' });
      expect(found.message).toContain('Found 5 passages');
      expect(found.data).toHaveLength(5);
      expect(found.data![0]).toMatchObject({
        knowledgebase_id: help,
        document_id: refunds.body.id,
        document_name: 'Returns and refunds',
        source: 'https://acme.example/help/refunds',
      });
      expect(found.data![0]!.content).toMatch(/^Damaged items can be returned/);
      // Only the AI's own knowledge bases: never the unlinked one, never another customer's.
      expect(found.data!.every((passage) => passage.knowledgebase_id === help || passage.knowledgebase_id === products)).toBe(true);

      const one = await executeTool(harness, aicall.body, 'search_knowledge', { query: 'damaged refund', knowledgebase_id: products });
      expect(one).toMatchObject({ result: 'success', resource_id: products });
      expect(one.data!.every((passage) => passage.knowledgebase_id === products)).toBe(true);

      const nothing = await executeTool(harness, aicall.body, 'search_knowledge', { query: 'zeppelin' });
      expect(nothing).toMatchObject({ result: 'success', resource_type: 'knowledgebase', data: [] });
      expect(nothing.message).toContain('Nothing was found');

      for (const knowledgebaseId of [unlinked, foreign]) {
        const refused = await executeTool(harness, aicall.body, 'search_knowledge', { query: 'zeppelin', knowledgebase_id: knowledgebaseId });
        expect(refused).toMatchObject({ result: 'failed' });
        expect(refused.data).toBeUndefined();
      }
      const noQuery = await executeTool(harness, aicall.body, 'search_knowledge', {});
      expect(noQuery).toMatchObject({ result: 'failed' });
      expect(noQuery.message).toContain('query');

      // An AI without knowledge bases, and one without the tool.
      const bare = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody({ tool_names: ['all'] }) });
      const bareCall = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: bare.body.id } });
      const unconfigured = await executeTool(harness, bareCall.body, 'search_knowledge', { query: 'refund' });
      expect(unconfigured).toMatchObject({ result: 'failed', message: 'No knowledge base is configured for this AI.' });
      const withoutTool = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody({ tool_names: ['stop_service'], knowledgebase_ids: [help] }) });
      const withoutToolCall = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: withoutTool.body.id } });
      expect(await executeTool(harness, withoutToolCall.body, 'search_knowledge', { query: 'refund' })).toMatchObject({ result: 'failed' });
    });
  });
}
