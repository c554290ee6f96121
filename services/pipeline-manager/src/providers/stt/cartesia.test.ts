import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSttResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect } from '../testing/collect.ts';
import { closedPort } from '../testing/fake-http-server.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '../testing/fake-websocket-server.ts';
import { createCartesiaStt } from './cartesia.ts';

const policy: ResiliencePolicy = { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 300, firstEventTimeoutMs: 300, idleTimeoutMs: 300 };

describe('Cartesia streaming STT against a fake /stt/websocket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('streams binary audio and parses interim, final (with endpoint), language and usage', async () => {
    server.handle({
      onMessage(connection, message, isBinary) {
        if (isBinary && connection.binary.length === 1) {
          connection.socket.send(JSON.stringify({ type: 'transcript', request_id: 'r', text: 'bonjour', is_final: false, duration: 0.5, language: 'fr' }));
          connection.socket.send(JSON.stringify({ type: 'transcript', request_id: 'r', text: 'bonjour à tous', is_final: true, duration: 1.1, language: 'fr' }));
        }
        if (message === 'finalize') connection.socket.send(JSON.stringify({ type: 'flush_done', request_id: 'r' }));
        if (message === 'done') connection.socket.send(JSON.stringify({ type: 'done', request_id: 'r' }));
      },
    });
    const stt = withSttResilience(createCartesiaStt({ apiKey: 'ck', baseUrl: server.httpUrl }), policy);
    const session = await stt.start({ language: 'fr-FR', sampleRate: 16_000 });
    session.write(new Int16Array(320).fill(7));
    session.write(new Int16Array(320));
    await session.finish();
    const events = await collect(session.events);
    expect(events).toEqual([
      { type: 'interim', text: 'bonjour', language: 'fr' },
      { type: 'final', text: 'bonjour à tous', language: 'fr' },
      { type: 'endpoint' },
      { type: 'usage', audioSeconds: 0.04 },
    ]);
    const connection = server.connections.at(-1)!;
    expect(connection.headers['x-api-key']).toBe('ck');
    expect(connection.headers['cartesia-version']).toBe('2025-04-16');
    const url = new URL(connection.url, 'http://x');
    expect(url.pathname).toBe('/stt/websocket');
    expect(Object.fromEntries(url.searchParams)).toEqual({ model: 'ink-whisper', encoding: 'pcm_s16le', sample_rate: '16000', language: 'fr' });
    expect(connection.binary.map((chunk) => chunk.length)).toEqual([640, 640]);
    expect(connection.binary[0]!.readInt16LE(0)).toBe(7);
    expect(connection.messages.filter((message) => typeof message === 'string')).toEqual(['finalize', 'done']);
  });

  it('turns an error message into a classified error event', async () => {
    server.handle({ onMessage: (connection) => connection.socket.send(JSON.stringify({ type: 'error', message: 'Invalid audio', status_code: 400 })) });
    const session = await withSttResilience(createCartesiaStt({ apiKey: 'ck', baseUrl: server.httpUrl }), policy).start({ language: '', sampleRate: 16_000 });
    expect(new URL(server.connections.at(-1)!.url, 'http://x').searchParams.has('language')).toBe(false);
    session.write(new Int16Array(320));
    const events = await collect(session.events);
    expect(events.find((event) => event.type === 'error')).toMatchObject({ error: { category: 'bad_request', status: 400 } });
  });

  it('classifies a rejected key (no retry), retries a refused connection, and times out a hung handshake', async () => {
    server.rejectWith(401);
    const before = server.attempts;
    try {
      await expect(withSttResilience(createCartesiaStt({ apiKey: 'bad', baseUrl: server.httpUrl }), policy).start({ language: 'en', sampleRate: 16_000 })).rejects.toMatchObject({
        category: 'auth',
        status: 401,
      });
    } finally {
      server.rejectWith(undefined);
    }
    expect(server.attempts - before).toBe(1); // auth failures are not retried

    const port = await closedPort();
    await expect(withSttResilience(createCartesiaStt({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy).start({ language: 'en', sampleRate: 16_000 })).rejects.toMatchObject({
      category: 'connectivity',
    });

    // A TCP server that accepts and never answers the upgrade.
    const sockets: Socket[] = [];
    const hung = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const hungPort = (hung.address() as AddressInfo).port;
    try {
      await expect(
        withSttResilience(createCartesiaStt({ apiKey: 'k', baseUrl: `http://127.0.0.1:${hungPort}` }), { ...policy, maxAttempts: 1, connectTimeoutMs: 50 }).start({ language: 'en', sampleRate: 16_000 }),
      ).rejects.toMatchObject({ category: 'timeout' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });
});
