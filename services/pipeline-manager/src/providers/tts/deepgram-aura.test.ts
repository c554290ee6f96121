import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect, collectError } from '../testing/collect.ts';
import { closedPort } from '../testing/fake-http-server.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '../testing/fake-websocket-server.ts';
import { createDeepgramAuraTts } from './deepgram-aura.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

describe('Deepgram Aura TTS against a fake /v1/speak socket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('sends Speak + Flush per sentence and ends each sentence on Flushed', async () => {
    let flushes = 0;
    server.handle({
      onConnection: (connection) => connection.socket.send(JSON.stringify({ type: 'Metadata', request_id: 'r', model_name: 'aura', model_version: '1', model_uuid: 'u' })),
      onMessage(connection, message) {
        const { type, text } = message as { type: string; text?: string };
        if (type === 'Speak') {
          const pcm = Buffer.alloc(640);
          pcm.writeInt16LE(text!.length, 0);
          connection.socket.send(pcm.subarray(0, 333)); // binary, split mid-sample
          connection.socket.send(pcm.subarray(333));
        } else if (type === 'Flush') {
          connection.socket.send(JSON.stringify({ type: 'Flushed', sequence_id: flushes++ }));
        }
      },
    });
    const tts = withTtsResilience(createDeepgramAuraTts({ apiKey: 'dg-key', baseUrl: server.httpUrl }), policy);
    const session = tts.open({ voiceId: 'aura-2-apollo-en', language: 'en' });
    session.push('One.');
    session.push('Number two.');
    session.end();
    const events = await collect(session.events);
    const audio = events.filter((event) => event.type === 'audio');
    expect(audio.map((event) => [event.textIndex, event.pcm.length])).toEqual([
      [0, 166],
      [0, 154],
      [1, 166],
      [1, 154],
    ]);
    expect(audio[0]!.pcm[0]).toBe(4);
    expect(audio[2]!.pcm[0]).toBe(11);
    expect(events.filter((event) => event.type !== 'audio')).toEqual([
      { type: 'usage', characters: 4 },
      { type: 'usage', characters: 11 },
      { type: 'text-end', textIndex: 0 },
      { type: 'text-end', textIndex: 1 },
    ]);
    const connection = server.connections.at(-1)!;
    expect(connection.headers.authorization).toBe('Token dg-key');
    const url = new URL(connection.url, 'http://x');
    expect(url.pathname).toBe('/v1/speak');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ model: 'aura-2-apollo-en', encoding: 'linear16', sample_rate: '16000' });
    expect(connection.json.slice(0, 4)).toEqual([{ type: 'Speak', text: 'One.' }, { type: 'Flush' }, { type: 'Speak', text: 'Number two.' }, { type: 'Flush' }]);
  });

  it('classifies a rejected key, a refused connection, a server error close and silence', async () => {
    server.rejectWith(401);
    try {
      const session = withTtsResilience(createDeepgramAuraTts({ apiKey: 'bad', baseUrl: server.httpUrl }), policy).open({ voiceId: '', language: '' });
      session.push('Hi.');
      expect(await collectError(session.events)).toMatchObject({ category: 'auth' });
    } finally {
      server.rejectWith(undefined);
    }
    const port = await closedPort();
    const refused = withTtsResilience(createDeepgramAuraTts({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy).open({ voiceId: '', language: '' });
    refused.push('Hi.');
    expect(await collectError(refused.events)).toMatchObject({ category: 'connectivity' });

    server.handle({ onMessage: (connection) => connection.socket.close(1011, 'oops') });
    const failing = withTtsResilience(createDeepgramAuraTts({ apiKey: 'k', baseUrl: server.httpUrl }), policy).open({ voiceId: '', language: '' });
    failing.push('Hi.');
    expect(await collectError(failing.events)).toMatchObject({ category: 'server', status: 1011 });

    server.handle({});
    const silent = withTtsResilience(createDeepgramAuraTts({ apiKey: 'k', baseUrl: server.httpUrl }), { ...policy, firstEventTimeoutMs: 50 }).open({ voiceId: '', language: '' });
    silent.push('Hi.');
    expect(await collectError(silent.events)).toMatchObject({ category: 'timeout' });
  });
});
