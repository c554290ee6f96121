import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../logging/create-logger.ts';
import { createHttpServer } from './create-http-server.ts';
import { jsonDepthExceeds, maxJsonDepth, unstorableStrings } from './request-guards.ts';

function nested(depth: number, leaf = '1'): string {
  return `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;
}

function buildServer() {
  const app = createHttpServer({ logger: silentLogger() });
  // Stands for a route that stores what it is given: it recurses through the body the way
  // validation, JSON.stringify and the database driver do.
  app.post('/store', async (request) => ({ stored: JSON.stringify(request.body).length }));
  app.get('/search/:name', async (request) => ({ query: request.query, params: request.params }));
  app.post('/validated', async (request) => z.object({ name: z.string() }).parse(request.body));
  return app;
}

describe('request guards', () => {
  const app = buildServer();

  it('refuses a NUL character anywhere in the body with 400 naming the field', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/store',
      payload: { name: 'ok', parameter: { notes: ['fine', 'bad\u0000value'] } },
    });
    expect(response.statusCode).toBe(400);
    const error = response.json().error;
    expect(error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED' });
    expect(error.message).toBe('parameter.notes.1: must not contain the NUL character (\\u0000)');
    expect(error.details.problems).toEqual([error.message]);
    expect(error.request_id).toBe(response.headers['x-request-id']);
  });

  it('names the object whose key holds a NUL character, and the body when it is one string', async () => {
    const keyed = await app.inject({ method: 'POST', url: '/store', payload: { parameter: { 'a\u0000b': 1 } } });
    expect(keyed.json().error.message).toBe('parameter: a key must not contain the NUL character (\\u0000)');
    const whole = await app.inject({ method: 'POST', url: '/store', headers: { 'content-type': 'application/json' }, payload: '"\\u0000"' });
    expect(whole.json().error.message).toBe('(body): must not contain the NUL character (\\u0000)');
  });

  it('refuses an unpaired surrogate, which jsonb cannot store', async () => {
    const response = await app.inject({ method: 'POST', url: '/store', headers: { 'content-type': 'application/json' }, payload: '{"detail":"x\\ud800y"}' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe('detail: must be valid Unicode (it holds an unpaired surrogate)');
    const paired = await app.inject({ method: 'POST', url: '/store', payload: { detail: 'emoji \u{1F600}' } });
    expect(paired.statusCode).toBe(200);
  });

  it('checks the query and the path too, before the route validates anything', async () => {
    const query = await app.inject({ method: 'GET', url: '/search/ok?q=a%00b&page_token=x' });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.message).toBe('q: must not contain the NUL character (\\u0000)');
    const path = await app.inject({ method: 'GET', url: '/search/a%00b' });
    expect(path.statusCode).toBe(400);
    expect(path.json().error.message).toBe('name: must not contain the NUL character (\\u0000)');
    const plain = await app.inject({ method: 'GET', url: '/search/ok?q=fine' });
    expect(plain.json()).toEqual({ query: { q: 'fine' }, params: { name: 'ok' } });
    const both = await app.inject({ method: 'POST', url: '/validated', payload: { name: 5, other: '\u0000' } });
    expect(both.json().error.message).toBe('other: must not contain the NUL character (\\u0000)');
  });

  it(`accepts a body nested ${maxJsonDepth} deep and refuses one nested deeper with 400 JSON_TOO_DEEP`, async () => {
    const deepest = await app.inject({ method: 'POST', url: '/store', headers: { 'content-type': 'application/json' }, payload: nested(maxJsonDepth) });
    expect(deepest.statusCode).toBe(200);
    for (const depth of [maxJsonDepth + 1, 50_000]) {
      const response = await app.inject({ method: 'POST', url: '/store', headers: { 'content-type': 'application/json' }, payload: nested(depth) });
      expect(response.statusCode, `depth ${depth}`).toBe(400);
      expect(response.json().error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'JSON_TOO_DEEP' });
      expect(response.json().error.message).toContain(`deeper than ${maxJsonDepth} levels`);
    }
  });
});

describe('jsonDepthExceeds', () => {
  it('counts arrays and objects but not brackets inside strings', () => {
    expect(jsonDepthExceeds('[[[1]]]', 3)).toBe(false);
    expect(jsonDepthExceeds('[[[[1]]]]', 3)).toBe(true);
    expect(jsonDepthExceeds('{"a":"[[[[[[","b":"\\"{{{{{"}', 1)).toBe(false);
    expect(jsonDepthExceeds('[1],[2],[3],[4]', 1)).toBe(false);
  });
});

describe('unstorableStrings', () => {
  it('walks any depth without recursion and stops after ten problems', () => {
    let value: unknown = '\u0000';
    for (let depth = 0; depth < 100_000; depth += 1) value = [value];
    expect(unstorableStrings(value, '(body)')).toHaveLength(1);
    expect(unstorableStrings(Array.from({ length: 50 }, () => '\u0000'), '(body)')).toHaveLength(10);
    expect(unstorableStrings({ a: 1, b: null, c: true, d: ['x'] }, '(body)')).toEqual([]);
  });
});
