import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { z } from 'zod';
import { appError } from '../errors/app-error.ts';
import { silentLogger } from '../logging/create-logger.ts';
import { createHttpServer } from './create-http-server.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { createMetricsRegistry, registerMetrics } from './metrics.ts';

function buildServer() {
  const app = createHttpServer({ logger: silentLogger(), bodyLimit: 1024 });
  app.post('/echo', async (request) => request.body);
  app.get('/missing', async () => {
    throw appError('RESOURCE_NOT_FOUND', 'No AI with this id.');
  });
  app.get('/broken', async () => {
    throw new Error('connection string postgres://secret@db leaked');
  });
  app.post('/validated', async (request) => z.object({ name: z.string(), size: z.number() }).parse(request.body));
  return app;
}

describe('createHttpServer', () => {
  const app = buildServer();

  it('answers an unknown route with the catalog body and a request id', async () => {
    const response = await app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(response.statusCode).toBe(404);
    const body = response.json();
    expect(body.error).toMatchObject({ status: 'NOT_FOUND', reason: 'ROUTE_NOT_FOUND', message: 'No route GET /nope.' });
    expect(body.error.request_id).toBe(response.headers['x-request-id']);
  });

  it('reuses a plain caller request id and replaces an odd one', async () => {
    const kept = await app.inject({ method: 'GET', url: '/missing', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    expect(kept.json().error.request_id).toBe('abc-123');
    const replaced = await app.inject({ method: 'GET', url: '/missing', headers: { 'x-request-id': 'bad id\n' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns bad JSON into 400 INVALID_JSON_BODY', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'INVALID_JSON_BODY' });
  });

  it('turns an oversized body into 413 BODY_TOO_LARGE', async () => {
    const response = await app.inject({ method: 'POST', url: '/echo', payload: { text: 'x'.repeat(2048) } });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.reason).toBe('BODY_TOO_LARGE');
  });

  it('rejects a body that is not JSON', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/xml' },
      payload: '<a/>',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.reason).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('passes an AppError through with its status, reason and message', async () => {
    const response = await app.inject({ method: 'GET', url: '/missing' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toMatchObject({ reason: 'RESOURCE_NOT_FOUND', message: 'No AI with this id.' });
  });

  it('hides the details of an unexpected error behind 500 INTERNAL', async () => {
    const response = await app.inject({ method: 'GET', url: '/broken' });
    expect(response.statusCode).toBe(500);
    expect(response.json().error).toMatchObject({ status: 'INTERNAL', reason: 'INTERNAL' });
    expect(response.body).not.toContain('secret');
  });

  it('turns a zod failure into 400 VALIDATION_FAILED naming each field', async () => {
    const response = await app.inject({ method: 'POST', url: '/validated', payload: { name: 3 } });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error.reason).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('name:');
    expect(error.message).toContain('size:');
  });
});

describe('health routes', () => {
  it('is live and ready when every check passes', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    registerHealthRoutes(app, { checks: { database: async () => undefined, bus: () => true }, isDraining: () => false });
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', bus: 'ok' } });
  });

  it('is not ready when a check fails, throws or hangs, and says which', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    registerHealthRoutes(app, {
      checks: {
        bus: () => false,
        database: async () => {
          throw new Error('connection refused');
        },
        cache: () => new Promise<void>(() => undefined),
      },
      isDraining: () => false,
      checkTimeoutMs: 50,
    });
    const response = await app.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().error).toMatchObject({
      reason: 'NOT_READY',
      details: { checks: { bus: 'failing', database: 'failing: connection refused', cache: 'timeout' } },
    });
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('is not ready while draining', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    registerHealthRoutes(app, { checks: {}, isDraining: () => true });
    const response = await app.inject({ url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().error.details.draining).toBe(true);
  });
});

describe('metrics', () => {
  it('exposes Node metrics and request durations by route pattern', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    registerMetrics(app, createMetricsRegistry());
    app.get('/items/:id', async () => ({ ok: true }));
    await app.inject({ url: '/items/42' });
    const response = await app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('process_cpu_user_seconds_total');
    expect(response.body).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status_code="200"\} 1/);
  });
});

describe('createHttpServer body parsing', () => {
  it('treats an empty JSON body as no body and still rejects bad JSON and prototype poisoning', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    app.post('/echo', async (request) => ({ body: request.body ?? null }));
    const empty = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '' });
    expect(empty.json()).toEqual({ body: null });
    const bad = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.reason).toBe('INVALID_JSON_BODY');
    const poisoned = await app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload: '{"__proto__":{"admin":true}}' });
    expect(poisoned.statusCode).toBe(400);
    await app.close();
  });
});

describe('createHttpServer request logs', () => {
  it('logs each request with its id at info, and nothing per request below it', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
    for (const level of ['info', 'warn'] as const) {
      lines.length = 0;
      const app = createHttpServer({ logger: pino({ level }, destination) });
      app.get('/quiet', { logLevel: 'warn' }, async () => ({ ok: true }));
      app.get('/items/:id', async () => ({ ok: true }));
      await app.inject({ method: 'GET', url: '/items/7', headers: { 'x-request-id': 'req-7' } });
      await app.inject({ method: 'GET', url: '/quiet', headers: { 'x-request-id': 'req-8' } });
      await app.close();
      const perRequest = lines.filter((line) => line.reqId !== undefined).map((line) => [line.reqId, line.msg]);
      expect(perRequest, level).toEqual(
        level === 'info'
          ? [
              ['req-7', 'incoming request'],
              ['req-7', 'request completed'],
            ]
          : [],
      );
    }
  });
});

describe('createHttpServer: the client address behind proxies (TRUST_PROXY)', () => {
  const clientIp = async (trustProxy: boolean | string[] | undefined, remoteAddress: string, forwardedFor?: string) => {
    const app = createHttpServer({ logger: silentLogger(), ...(trustProxy === undefined ? {} : { trustProxy }) });
    app.get('/ip', async (request) => ({ ip: request.ip }));
    const response = await app.inject({ method: 'GET', url: '/ip', remoteAddress, ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}) });
    await app.close();
    return (response.json() as { ip: string }).ip;
  };

  it('takes the connection address unless the peer is a trusted proxy, and then the address it forwards', async () => {
    expect(await clientIp(undefined, '10.1.2.3', '203.0.113.9')).toBe('10.1.2.3');
    expect(await clientIp(['10.0.0.0/8'], '10.1.2.3', '203.0.113.9')).toBe('203.0.113.9');
    // A client that is not a listed proxy cannot pick its address with the header.
    expect(await clientIp(['10.0.0.0/8'], '198.51.100.7', '203.0.113.9')).toBe('198.51.100.7');
    // Through two listed proxies, the first address no listed proxy owns.
    expect(await clientIp(['10.0.0.0/8'], '10.1.2.3', '203.0.113.9, 10.4.4.4')).toBe('203.0.113.9');
  });
});
