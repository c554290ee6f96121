import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSttResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect, collectError } from '../testing/collect.ts';
import { closedPort } from '../testing/fake-http-server.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer, type RecordedConnection } from '../testing/fake-websocket-server.ts';
import type { SttEvent } from '../types.ts';
import { createDeepgramStt } from './deepgram.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 300, firstEventTimeoutMs: 300, idleTimeoutMs: 300 };

function results(transcript: string, isFinal: boolean, speechFinal: boolean, languages?: string[]) {
  return JSON.stringify({
    type: 'Results',
    channel_index: [0, 1],
    duration: 1,
    start: 0,
    is_final: isFinal,
    speech_final: speechFinal,
    channel: { alternatives: [{ transcript, confidence: 0.93, words: [], ...(languages ? { languages } : {}) }] },
    metadata: { request_id: 'r', model_info: { name: 'nova-3', version: '1', arch: 'x' }, model_uuid: 'u' },
  });
}

describe('Deepgram live STT against a fake /v1/listen socket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('sends the key, parameters and binary audio; parses interim, final, endpoint and usage', async () => {
    server.handle({
      onMessage(connection: RecordedConnection, message, isBinary) {
        if (isBinary && connection.binary.length === 1) {
          connection.socket.send(results('hello', false, false));
          connection.socket.send(results('hello world', true, true, ['en']));
          connection.socket.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 1.2 }));
        }
        if (!isBinary && (message as { type?: string }).type === 'CloseStream') {
          connection.socket.send(JSON.stringify({ type: 'Metadata', transaction_key: 'x', request_id: 'r', sha256: 's', created: 'c', duration: 0.04, channels: 1 }));
          connection.socket.close(1000);
        }
      },
    });
    const stt = withSttResilience(createDeepgramStt({ apiKey: 'dg-key', baseUrl: server.httpUrl }), policy);
    const session = await stt.start({ language: '', sampleRate: 16_000 });
    const frame = new Int16Array(320).fill(1000);
    session.write(frame);
    session.write(frame);
    const eventsPromise = collect(session.events);
    await session.finish();
    const events: SttEvent[] = await eventsPromise;

    expect(events).toEqual([
      { type: 'interim', text: 'hello', language: undefined, confidence: 0.93 },
      { type: 'final', text: 'hello world', language: 'en', confidence: 0.93 },
      { type: 'endpoint' }, // speech_final; the UtteranceEnd after it adds nothing
      { type: 'usage', audioSeconds: 0.04 },
    ]);
    const connection = server.connections.at(-1)!;
    expect(connection.headers.authorization).toBe('Token dg-key');
    const url = new URL(connection.url, 'http://x');
    expect(url.pathname).toBe('/v1/listen');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      model: 'nova-3',
      language: 'multi',
      encoding: 'linear16',
      sample_rate: '16000',
      channels: '1',
      interim_results: 'true',
      endpointing: '300',
    });
    expect(connection.binary.map((chunk) => chunk.length)).toEqual([640, 640]);
    expect(connection.binary[0]!.readInt16LE(0)).toBe(1000);
    expect(connection.json).toContainEqual({ type: 'CloseStream' });
  });

  it('passes the language through when one is set', async () => {
    server.handle({ onConnection: (connection) => connection.socket.close(1000) });
    const session = await createDeepgramStt({ apiKey: 'k', baseUrl: server.httpUrl }).start({ language: 'ko-KR', sampleRate: 16_000 });
    await collect(session.events);
    expect(new URL(server.connections.at(-1)!.url, 'http://x').searchParams.get('language')).toBe('ko-KR');
  });

  it('classifies a rejected key as auth and a refused connection as connectivity', async () => {
    server.rejectWith(401);
    try {
      const stt = withSttResilience(createDeepgramStt({ apiKey: 'bad', baseUrl: server.httpUrl }), policy);
      await expect(stt.start({ language: 'en', sampleRate: 16_000 })).rejects.toMatchObject({ category: 'auth', provider: 'deepgram' });
    } finally {
      server.rejectWith(undefined);
    }
    const port = await closedPort();
    const refused = withSttResilience(createDeepgramStt({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy);
    await expect(refused.start({ language: 'en', sampleRate: 16_000 })).rejects.toMatchObject({ category: 'connectivity' });
  });

  it('reports a server-side close mid-session as a classified error event', async () => {
    server.handle({ onMessage: (connection) => connection.socket.close(1011, 'internal') });
    const session = await withSttResilience(createDeepgramStt({ apiKey: 'k', baseUrl: server.httpUrl }), policy).start({ language: 'en', sampleRate: 16_000 });
    session.write(new Int16Array(320));
    const events = await collect(session.events);
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { category: 'server', retryable: true, status: 1011 } });
  });

  it('ends the events with the abort reason and closes the socket when the call ends', async () => {
    server.handle({});
    const controller = new AbortController();
    const session = await createDeepgramStt({ apiKey: 'k', baseUrl: server.httpUrl }).start({ language: 'en', sampleRate: 16_000, signal: controller.signal });
    session.write(new Int16Array(320));
    const reason = new Error('hang-up');
    const seen: string[] = [];
    const pending = collectError(
      (async function* () {
        for await (const event of session.events) {
          seen.push(event.type);
          yield event;
        }
      })(),
    );
    controller.abort(reason);
    expect(await pending).toBe(reason);
    expect(seen).toEqual(['usage']);
    await server.connections.at(-1)!.closed;
  });

  it('ends an utterance at UtteranceEnd when speech_final never came', async () => {
    server.handle({
      onMessage(connection, _message, isBinary) {
        if (!isBinary) return;
        connection.socket.send(results('noisy line', true, false));
        connection.socket.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 2 }));
        connection.socket.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: 2 }));
        connection.socket.close(1000);
      },
    });
    const session = await createDeepgramStt({ apiKey: 'k', baseUrl: server.httpUrl }).start({ language: 'en', sampleRate: 16_000 });
    session.write(new Int16Array(320));
    const events = await collect(session.events);
    expect(events.map((event) => event.type)).toEqual(['final', 'endpoint', 'usage']);
  });
});
