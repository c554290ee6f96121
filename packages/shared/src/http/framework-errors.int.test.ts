import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBodySchema } from '../errors/app-error.ts';
import { errorStatuses } from '../errors/error-catalog.ts';
import { silentLogger } from '../logging/create-logger.ts';
import { createHttpServer } from './create-http-server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes as they are (no client library fixes them up) and reads every response until the server closes or `count` arrived. */
function exchange(port: number, request: string, count = 1, afterFirstWrite?: () => Promise<string>): Promise<RawResponse[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const finish = (): void => {
      socket.destroy();
      resolve(parseResponses(received));
    };
    socket.on('data', (chunk) => {
      received += chunk.toString('utf8');
      if (parseResponses(received).length >= count) finish();
    });
    socket.on('close', finish);
    socket.on('error', reject);
    socket.write(request, () => {
      if (afterFirstWrite) void afterFirstWrite().then((more) => socket.write(more), reject);
    });
  });
}

function parseResponses(text: string): RawResponse[] {
  const responses: RawResponse[] = [];
  let rest = text;
  for (;;) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd < 0) return responses;
    const [statusLine, ...lines] = rest.slice(0, headerEnd).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headerEnd + 4;
    if (Buffer.byteLength(rest.slice(bodyStart)) < length) return responses;
    responses.push({ status: Number(statusLine?.split(' ')[1]), headers, body: rest.slice(bodyStart, bodyStart + length) });
    rest = rest.slice(bodyStart + length);
  }
}

/** The documented error body, its HTTP status matching its `status`, and the request id in header and body. */
function expectCatalogError(response: RawResponse | undefined, status: number, reason: string): void {
  expect(response, 'a response').toBeDefined();
  const { status: code, headers, body } = response as RawResponse;
  expect(code).toBe(status);
  expect(headers['content-type']).toContain('application/json');
  const parsed = errorBodySchema.strict().parse(JSON.parse(body));
  expect(parsed.error.reason).toBe(reason);
  expect(errorStatuses[parsed.error.status]).toBe(status);
  expect(parsed.error.request_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(headers['x-request-id']).toBe(parsed.error.request_id);
}

describe('errors the framework and the HTTP parser answer themselves', () => {
  let app: FastifyInstance;
  let port: number;
  beforeAll(async () => {
    app = createHttpServer({ logger: silentLogger() });
    app.get('/v1.0/ais/:id', async (request) => request.params);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers a query string longer than the header limit with 431 HEADERS_TOO_LARGE', async () => {
    const [response] = await exchange(port, `GET /v1.0/ais?q=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: local\r\n\r\n`);
    expectCatalogError(response, 431, 'HEADERS_TOO_LARGE');
  });

  it('answers oversized headers with 431 HEADERS_TOO_LARGE', async () => {
    const [response] = await exchange(port, `GET /v1.0/ais HTTP/1.1\r\nHost: local\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`);
    expectCatalogError(response, 431, 'HEADERS_TOO_LARGE');
  });

  it('answers an overlong path id with 414 URI_TOO_LONG', async () => {
    const [response] = await exchange(port, `GET /v1.0/ais/${'a'.repeat(500)} HTTP/1.1\r\nHost: local\r\nX-Request-Id: caller-id-1\r\n\r\n`);
    expect(response?.status).toBe(414);
    const parsed = errorBodySchema.strict().parse(JSON.parse(response?.body ?? ''));
    expect(parsed.error).toMatchObject({ status: 'URI_TOO_LONG', reason: 'URI_TOO_LONG', request_id: 'caller-id-1' });
    expect(response?.headers['x-request-id']).toBe('caller-id-1');
  });

  it('answers bad percent-encoding in the path with 400 INVALID_URL', async () => {
    const [response] = await exchange(port, 'GET /v1.0/ais/%E0%A4%A HTTP/1.1\r\nHost: local\r\n\r\n');
    expectCatalogError(response, 400, 'INVALID_URL');
  });

  it('answers bytes that are not HTTP with 400 MALFORMED_REQUEST', async () => {
    const [response] = await exchange(port, 'GET /v1.0/ais HTTP/1.1\r\nHost local\r\n\r\n');
    expectCatalogError(response, 400, 'MALFORMED_REQUEST');
  });

  it('keeps serving after all of them', async () => {
    const [response] = await exchange(port, 'GET /v1.0/ais/abc HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n');
    expect(response?.status).toBe(200);
    expect(JSON.parse(response?.body ?? '')).toEqual({ id: 'abc' });
  });
});

describe('requests arriving while the server closes', () => {
  it('answers them 503 with the catalog body while the running request finishes', async () => {
    const app = createHttpServer({ logger: silentLogger() });
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      entered = resolve;
    });
    app.get('/slow', async () => {
      entered();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    let closed: Promise<void> | undefined;
    const responses = await exchange(port, 'GET /slow HTTP/1.1\r\nHost: local\r\n\r\n', 2, async () => {
      await running;
      closed = app.close();
      // The close has begun (routes closed) before the next request on this connection arrives.
      await new Promise((resolve) => setTimeout(resolve, 50));
      setTimeout(() => release(), 100);
      return 'GET /slow HTTP/1.1\r\nHost: local\r\n\r\n';
    });
    await closed;
    expect(responses[0]?.status).toBe(200);
    expect(JSON.parse(responses[0]?.body ?? '')).toEqual({ done: true });
    expectCatalogError(responses[1], 503, 'SERVICE_UNAVAILABLE');
  });
});
