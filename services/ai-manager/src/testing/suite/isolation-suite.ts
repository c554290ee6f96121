import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, type ApiResponse } from '../harness.ts';
import { storeTranscription } from '../summary-fixtures.ts';
import type { GetContext } from './context.ts';

/** The error body without its request id, which differs per request. */
function withoutRequestId(response: ApiResponse) {
  const { request_id: _requestId, ...error } = response.body.error;
  return { status: response.status, error };
}

/** A second customer sees none of the first's resources: 404s identical to missing ones. */
export function isolationSuite(get: GetContext): void {
  describe('tenant isolation', () => {
    it("answers another customer's resources exactly like missing ones", async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness, 'owner');
      const other = await createTestCustomer(harness, 'other');
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', {
        key: owner.key,
        body: { assistance_type: 'ai', assistance_id: ai.body.id },
      });
      const message = await call(harness, 'POST', '/v1.0/aimessages', { key: owner.key, body: { aicall_id: aicall.body.id, content: 'hi' } });
      const transcribeId = await storeTranscription(get().database, owner.id);
      const summary = (await call(harness, 'POST', '/v1.0/aisummaries', { key: owner.key, body: { reference_type: 'transcribe', reference_id: transcribeId } })).body as { id: string };

      const requests: [('GET' | 'PUT' | 'DELETE' | 'POST'), (id: string) => string, unknown?][] = [
        ['GET', (id) => `/v1.0/ais/${id}`],
        ['PUT', (id) => `/v1.0/ais/${id}`, aiBody()],
        ['DELETE', (id) => `/v1.0/ais/${id}`],
        ['GET', (id) => `/v1.0/aicalls/${id}`],
        ['DELETE', (id) => `/v1.0/aicalls/${id}`],
        ['POST', (id) => `/v1.0/aicalls/${id}/terminate`],
        ['GET', (id) => `/v1.0/aimessages/${id}`],
        ['GET', (id) => `/v1.0/aimessages?aicall_id=${id}`],
        ['GET', (id) => `/v1.0/aisummaries/${id}`],
        ['DELETE', (id) => `/v1.0/aisummaries/${id}`],
      ];
      const owned: Record<string, string> = {
        ais: ai.body.id,
        aicalls: aicall.body.id,
        aimessages: message.body.id,
        aisummaries: summary.id,
      };
      for (const [method, url, body] of requests) {
        const resource = url('x').split('/')[2]!.split('?')[0]!;
        const id = url('x').includes('aicall_id') ? aicall.body.id : owned[resource]!;
        const foreign = await call(harness, method, url(id), { key: other.key, body });
        const missing = await call(harness, method, url(randomUUID()), { key: other.key, body });
        expect(foreign.status, `${method} ${url(':id')}`).toBe(404);
        expect(withoutRequestId(foreign)).toEqual(withoutRequestId(missing));
      }
      // Starting a session on someone else's AI, or messaging their session, is the same 404.
      const start = await call(harness, 'POST', '/v1.0/aicalls', { key: other.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      expect(start.status).toBe(404);
      const send = await call(harness, 'POST', '/v1.0/aimessages', { key: other.key, body: { aicall_id: aicall.body.id, content: 'x' } });
      expect(send.status).toBe(404);
      // Lists are scoped; and the owner's resources are untouched.
      for (const list of ['/v1.0/ais', '/v1.0/aicalls', '/v1.0/aisummaries']) {
        expect((await call(harness, 'GET', list, { key: other.key })).body.result).toEqual([]);
      }
      expect((await call(harness, 'GET', `/v1.0/ais/${ai.body.id}`, { key: owner.key })).status).toBe(200);
      // A text AIcall (reference_type "") is progressing from the start: the stranger's terminate and delete changed nothing.
      expect(aicall.body.status).toBe('progressing');
      const ownAicall = await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key: owner.key });
      expect(ownAicall.body).toMatchObject({ status: 'progressing', tm_end: null, tm_delete: null });
      expect((await call(harness, 'GET', `/v1.0/aimessages/${message.body.id}`, { key: owner.key })).body).toEqual(message.body);
    });
  });
}
