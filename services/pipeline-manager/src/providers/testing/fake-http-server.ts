import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';

/** A request the fake vendor received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1/chat/completions?x=1`. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
}

export type FakeHandler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

/** A vendor stand-in on 127.0.0.1 (random port) that records every request. */
export interface FakeHttpServer {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Replaces the handler for the following requests. */
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

/**
 * `h2c` serves HTTP/2 without TLS (prior knowledge), which is what the AWS SDK's HTTP/2
 * handler speaks to an `http://` endpoint. Handlers get the compatibility response object,
 * typed as ServerResponse for simplicity (the methods the fakes use exist on both).
 */
export async function startFakeHttpServer(
  handler: FakeHandler = (_request, response) => {
    response.end();
  },
  options: { protocol?: 'http1' | 'h2c' } = {},
): Promise<FakeHttpServer> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const onRequest = (incoming: IncomingMessage | Http2ServerRequest, reply: ServerResponse | Http2ServerResponse) => {
    const response = reply as ServerResponse;
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      let json: unknown;
      try {
        json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = { method: incoming.method ?? '', url: incoming.url ?? '', headers: incoming.headers as IncomingHttpHeaders, body, json };
      requests.push(recorded);
      Promise.resolve(current(recorded, response)).catch((error: unknown) => {
        response.statusCode = 599;
        response.end(String(error));
      });
    });
  };
  const sessions = new Set<Http2Session>();
  const server = options.protocol === 'h2c' ? createHttp2Server(onRequest) : createServer(onRequest);
  server.on('session', (session: Http2Session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        for (const session of sessions) session.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes server-sent events (`data:` lines, optional `event:`) and ends the response. */
export function sendSse(response: ServerResponse, events: Array<{ event?: string; data: unknown }>, options: { end?: boolean } = {}): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events) {
    const data = typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
    response.write(`${event.event ? `event: ${event.event}\n` : ''}data: ${data}\n\n`);
  }
  if (options.end !== false) response.end();
}

/** Replies with a JSON error body. */
export function sendJsonError(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
