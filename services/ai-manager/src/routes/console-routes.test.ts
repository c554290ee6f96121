import { consoleContentSecurityPolicy } from '@avp/console';
import { createHttpServer, silentLogger } from '@avp/shared';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from './console-routes.ts';

describe('the console routes', () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = createHttpServer({ logger: silentLogger() });
    await app.register(consoleRoutes());
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
  });

  it('serves the page without a key, revalidated on every load, under a strict Content-Security-Policy', async () => {
    for (const url of ['/console', '/console/']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(consoleContentSecurityPolicy);
      expect(response.headers['content-security-policy']).toContain("default-src 'self'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.body).toContain('<script type="module" src="/console/assets/main-');
    }
  });

  it('answers 304 to a page request that already has the current version', async () => {
    const first = await app.inject({ method: 'GET', url: '/console' });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^".+"$/);
    const again = await app.inject({ method: 'GET', url: '/console', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves the hashed assets the page names as immutable, with their content type', async () => {
    const page = (await app.inject({ method: 'GET', url: '/console' })).body;
    const urls = [...page.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(urls.map((url) => url.split('.').pop()).sort()).toEqual(['css', 'js']);
    for (const url of urls) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(response.headers['content-type']).toMatch(url.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
      expect(response.body.length).toBeGreaterThan(500);
    }
  });

  it('answers an unknown asset with the catalog 404, not the page', async () => {
    const response = await app.inject({ method: 'GET', url: '/console/assets/main-OLDHASH1.js' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: { reason: 'ROUTE_NOT_FOUND' } });
  });
});
