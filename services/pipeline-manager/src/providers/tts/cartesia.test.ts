import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect, collectError } from '../testing/collect.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '../testing/fake-websocket-server.ts';
import { createCartesiaTts } from './cartesia.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

function chunk(contextId: string, value: number, samples = 100) {
  const pcm = Buffer.alloc(samples * 2);
  for (let index = 0; index < samples; index++) pcm.writeInt16LE(value, index * 2);
  return JSON.stringify({ type: 'chunk', data: pcm.toString('base64'), done: false, status_code: 206, step_time: 1, context_id: contextId });
}

describe('Cartesia TTS against a fake /tts/websocket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('sends one context per sentence and releases audio in sentence order even when contexts interleave', async () => {
    const contexts: string[] = [];
    server.handle({
      onMessage(connection, message) {
        contexts.push((message as { context_id: string }).context_id);
        if (contexts.length < 2) return;
        // The second sentence finishes first; the first one's audio still must come first.
        const [first, second] = contexts as [string, string];
        connection.socket.send(chunk(second, 2));
        connection.socket.send(JSON.stringify({ type: 'done', done: true, status_code: 200, context_id: second }));
        connection.socket.send(chunk(first, 1));
        connection.socket.send(chunk(first, 1));
        connection.socket.send(JSON.stringify({ type: 'done', done: true, status_code: 200, context_id: first }));
      },
    });
    const tts = withTtsResilience(createCartesiaTts({ apiKey: 'ck', baseUrl: server.httpUrl }), policy);
    const session = tts.open({ voiceId: 'voice-uuid', language: 'en-GB' });
    session.push('First.');
    session.push('Second.');
    session.end();
    const events = await collect(session.events);
    const summary = events.map((event) => (event.type === 'audio' ? `audio:${event.textIndex}:${event.pcm[0]}` : event.type === 'usage' ? `usage:${event.characters}` : `end:${event.textIndex}`));
    expect(summary).toEqual(['usage:6', 'usage:7', 'audio:0:1', 'audio:0:1', 'end:0', 'audio:1:2', 'end:1']);

    const connection = server.connections.at(-1)!;
    expect(connection.headers['x-api-key']).toBe('ck');
    expect(new URL(connection.url, 'http://x').pathname).toBe('/tts/websocket');
    expect(connection.json[0]).toMatchObject({
      model_id: 'sonic-2',
      transcript: 'First.',
      voice: { mode: 'id', id: 'voice-uuid' },
      language: 'en',
      output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16_000 },
    });
    expect(connection.json[0]!.context_id).not.toBe(connection.json[1]!.context_id);
  });

  it('classifies error messages and a rejected handshake', async () => {
    server.handle({ onMessage: (connection, message) => connection.socket.send(JSON.stringify({ type: 'error', error: 'voice not found', status_code: 404, done: true, context_id: (message as { context_id: string }).context_id })) });
    const session = withTtsResilience(createCartesiaTts({ apiKey: 'ck', baseUrl: server.httpUrl }), policy).open({ voiceId: 'x', language: '' });
    session.push('Hi.');
    expect(await collectError(session.events)).toMatchObject({ category: 'bad_request', status: 404 });

    server.rejectWith(402);
    try {
      const broke = withTtsResilience(createCartesiaTts({ apiKey: 'ck', baseUrl: server.httpUrl }), policy).open({ voiceId: 'x', language: '' });
      broke.push('Hi.');
      expect(await collectError(broke.events)).toMatchObject({ category: 'quota', retryable: false });
    } finally {
      server.rejectWith(undefined);
    }
  });
});
