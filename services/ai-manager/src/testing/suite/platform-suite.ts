import { createInProcessBus } from '@avp/shared';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { call, createTestCustomer, startHarness } from '../harness.ts';
import type { GetContext } from './context.ts';

/** OpenAPI document and UI, request ids, per-key rate limits. */
export function platformSuite(get: GetContext): void {
  describe('OpenAPI, request ids and rate limits', () => {
    it('serves an OpenAPI 3 document generated from the schemas, and its UI, without a key', async () => {
      const { harness } = get();
      // The document names engine_key (as a request field), so it bypasses call()'s check.
      const raw = await harness.app.inject({ method: 'GET', url: '/v1.0/docs/json' });
      expect(raw.statusCode).toBe(200);
      const document = { body: raw.json() };
      expect(document.body.openapi).toMatch(/^3\./);
      for (const path of ['/v1.0/ais', '/v1.0/ais/{id}', '/v1.0/aicalls', '/v1.0/aicalls/{id}/terminate', '/v1.0/aimessages', '/v1.0/aisummaries/{id}', '/v1.0/customers']) {
        expect(Object.keys(document.body.paths)).toContain(path);
      }
      const createAi = document.body.paths['/v1.0/ais'].post;
      const bodySchema = createAi.requestBody.content['application/json'].schema;
      expect(bodySchema.required).toContain('engine_model');
      expect(bodySchema.properties.tts_type.anyOf ?? bodySchema.properties.tts_type.enum).toBeDefined();
      const aiResponse = createAi.responses['200'].content['application/json'].schema;
      expect(Object.keys(aiResponse.properties)).toContain('engine_key_set');
      expect(Object.keys(aiResponse.properties)).not.toContain('engine_key');
      const errorResponse = createAi.responses['4XX'] ?? createAi.responses['4xx'];
      expect(Object.keys(errorResponse.content['application/json'].schema.properties)).toEqual(['error']);
      const page = await harness.app.inject({ method: 'GET', url: '/v1.0/docs/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
    });

    it('gives every response a request id', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const ok = await call(harness, 'GET', '/v1.0/ais', { key });
      expect(ok.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const kept = await call(harness, 'GET', '/v1.0/ais', { key, headers: { 'x-request-id': 'trace-42' } });
      expect(kept.headers['x-request-id']).toBe('trace-42');
    });

    it('keeps access keys out of the request logs', async () => {
      const { database } = get();
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
      const logged = await startHarness(database, {}, createInProcessBus(), logger);
      try {
        const customer = await createTestCustomer(logged);
        expect((await call(logged, 'GET', `/v1.0/ais?token=${customer.key}`)).status).toBe(200);
        expect((await call(logged, 'GET', `/v1.0/ais?accesskey=${customer.key}&page_size=1`)).status).toBe(200);
        // A percent-encoded parameter name is still the key (the server decodes it), and a key
        // sent under a wrong name, or in a path, is still a key.
        expect((await call(logged, 'GET', `/v1.0/ais?tok%65n=${customer.key}`)).status).toBe(200);
        expect((await call(logged, 'GET', `/v1.0/ais?api_key=${customer.key}`)).status).toBe(401);
        expect((await call(logged, 'GET', `/v1.0/nothing/${customer.key}`)).status).toBe(404);
        const requests = lines.filter((line) => line.includes('incoming request') && line.includes('/v1.0/ais?'));
        expect(requests).toHaveLength(4);
        expect(requests.join('\n')).toContain('tok%65n=[redacted]');
        expect(requests.join('\n')).toContain('token=[redacted]');
        expect(lines.join('\n')).not.toContain(customer.key);
      } finally {
        await logged.stop();
      }
    });

    it('limits requests per key with 429 and Retry-After', async () => {
      const { database } = get();
      const limited = await startHarness(database, { rateLimit: { perSecond: 0.5, burst: 2 } });
      try {
        const first = await createTestCustomer(limited, 'first');
        const second = await createTestCustomer(limited, 'second');
        expect((await call(limited, 'GET', '/v1.0/ais', { key: first.key })).status).toBe(200);
        expect((await call(limited, 'GET', '/v1.0/ais', { key: first.key })).status).toBe(200);
        const refused = await call(limited, 'GET', '/v1.0/ais', { key: first.key });
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED' });
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
        // Another key has its own budget.
        expect((await call(limited, 'GET', '/v1.0/ais', { key: second.key })).status).toBe(200);
      } finally {
        await limited.stop();
      }
    });

    it('refuses unknown keys from an address that failed too many key checks (429, not looked up); keys it knows go on', async () => {
      const { database } = get();
      const limited = await startHarness(database, { rateLimit: { perSecond: 100, burst: 100, authFailuresPerMinute: 3 }, keyCacheTtlMs: 60_000 });
      try {
        const known = await createTestCustomer(limited, 'known');
        const fresh = await createTestCustomer(limited, 'fresh');
        expect((await call(limited, 'GET', '/v1.0/ais', { key: known.key })).status).toBe(200);
        for (let index = 0; index < 3; index++) expect((await call(limited, 'GET', '/v1.0/ais', { key: `wrong-key-${index}` })).status).toBe(401);
        const refused = await call(limited, 'GET', '/v1.0/ais', { key: 'wrong-key-3' });
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', reason: 'RATE_LIMITED', message: expect.stringContaining('failed authentications') });
        expect(Number(refused.headers['retry-after'])).toBe(20);
        // A key the process knows (cached) still works from there; an unknown one, even valid, waits.
        expect((await call(limited, 'GET', '/v1.0/ais', { key: known.key })).status).toBe(200);
        expect((await call(limited, 'GET', '/v1.0/ais', { key: fresh.key })).status).toBe(429);
        // Another address has its own budget.
        const elsewhere = await limited.app.inject({ method: 'GET', url: '/v1.0/ais', remoteAddress: '198.51.100.9', headers: { authorization: `Bearer ${fresh.key}` } });
        expect(elsewhere.statusCode).toBe(200);
      } finally {
        await limited.stop();
      }
    });
  });
}
