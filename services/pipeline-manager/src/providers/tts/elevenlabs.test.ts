import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect, collectError } from '../testing/collect.ts';
import { closedPort } from '../testing/fake-http-server.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '../testing/fake-websocket-server.ts';
import type { TtsEvent } from '../types.ts';
import { createElevenLabsTts } from './elevenlabs.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

function audioMessage(samples: number, value: number, chars: string) {
  const pcm = Buffer.alloc(samples * 2);
  for (let index = 0; index < samples; index++) pcm.writeInt16LE(value, index * 2);
  return JSON.stringify({
    audio: pcm.toString('base64'),
    isFinal: null,
    alignment: { chars: [...chars], charStartTimesMs: [...chars].map((_c, i) => i * 10), charDurationsMs: [...chars].map(() => 10) },
    normalizedAlignment: null,
  });
}

/** Speaks each flushed text as two audio chunks whose alignment covers the text. */
function speakEachText(server: FakeWebSocketServer): void {
  server.handle({
    onMessage(connection, message) {
      const { text, flush } = message as { text: string; flush?: boolean };
      if (text === '') {
        connection.socket.send(JSON.stringify({ isFinal: true }));
        connection.socket.close(1000);
      } else if (flush) {
        const spoken = text.trim();
        const half = Math.ceil(spoken.length / 2);
        connection.socket.send(audioMessage(160, spoken.length, spoken.slice(0, half)));
        connection.socket.send(audioMessage(161, spoken.length, spoken.slice(half)));
      }
    },
  });
}

describe('ElevenLabs stream-input TTS against a fake WebSocket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('sends the key, voice, model and flushed sentences; maps audio to sentences by alignment', async () => {
    speakEachText(server);
    const tts = withTtsResilience(createElevenLabsTts({ apiKey: 'xi-key', baseUrl: server.httpUrl }), policy);
    const session = tts.open({ voiceId: 'voice-123', language: 'de-DE' });
    session.push('Guten Tag.');
    session.push('Wie geht es?');
    session.end();
    const events: TtsEvent[] = await collect(session.events);

    const summary = events.map((event) =>
      event.type === 'audio' ? `audio:${event.textIndex}:${event.pcm.length}:${event.pcm[0]}` : event.type === 'usage' ? `usage:${event.characters}` : `end:${event.textIndex}`,
    );
    // 161 samples are 322 bytes; nothing is lost at the odd chunk either.
    expect(summary).toEqual(['usage:10', 'usage:12', 'audio:0:160:10', 'audio:0:161:10', 'end:0', 'audio:1:160:12', 'audio:1:161:12', 'end:1']);

    const connection = server.connections.at(-1)!;
    expect(connection.headers['xi-api-key']).toBe('xi-key');
    const url = new URL(connection.url, 'http://x');
    expect(url.pathname).toBe('/v1/text-to-speech/voice-123/stream-input');
    expect(Object.fromEntries(url.searchParams)).toEqual({ model_id: 'eleven_flash_v2_5', output_format: 'pcm_16000', language_code: 'de' });
    expect(connection.json).toEqual([{ text: ' ' }, { text: 'Guten Tag. ', flush: true }, { text: 'Wie geht es? ', flush: true }, { text: '' }]);
  });

  it('classifies a rejected handshake as auth and a policy close as bad_request', async () => {
    server.rejectWith(401);
    try {
      const session = withTtsResilience(createElevenLabsTts({ apiKey: 'bad', baseUrl: server.httpUrl }), policy).open({ voiceId: 'v', language: '' });
      session.push('Hi.');
      expect(await collectError(session.events)).toMatchObject({ category: 'auth', status: 401 });
    } finally {
      server.rejectWith(undefined);
    }
    server.handle({ onMessage: (connection) => connection.socket.close(1008, 'Invalid voice_settings') });
    const session = withTtsResilience(createElevenLabsTts({ apiKey: 'k', baseUrl: server.httpUrl }), policy).open({ voiceId: 'v', language: '' });
    session.push('Hi.');
    expect(await collectError(session.events)).toMatchObject({ category: 'bad_request', status: 1008 });
  });

  it('classifies a refused connection and a server that never speaks', async () => {
    const port = await closedPort();
    const refused = withTtsResilience(createElevenLabsTts({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy).open({ voiceId: 'v', language: '' });
    refused.push('Hi.');
    expect(await collectError(refused.events)).toMatchObject({ category: 'connectivity' });

    server.handle({});
    const silent = withTtsResilience(createElevenLabsTts({ apiKey: 'k', baseUrl: server.httpUrl }), { ...policy, firstEventTimeoutMs: 50 }).open({ voiceId: 'v', language: '' });
    silent.push('Hi.');
    expect(await collectError(silent.events)).toMatchObject({ category: 'timeout' });
  });

  it('closes the vendor socket when the turn is aborted mid-speech (barge-in)', async () => {
    server.handle({
      onMessage(connection, message) {
        if ((message as { flush?: boolean }).flush) connection.socket.send(audioMessage(160, 1, 'Hel'));
      },
    });
    const controller = new AbortController();
    const session = withTtsResilience(createElevenLabsTts({ apiKey: 'k', baseUrl: server.httpUrl }), policy).open({ voiceId: 'v', language: '', signal: controller.signal });
    session.push('Hello there, this is long.');
    const reason = new Error('barge-in');
    const error = await collectError(
      (async function* () {
        for await (const event of session.events) {
          if (event.type === 'audio') controller.abort(reason);
          yield event;
        }
      })(),
    );
    expect(error).toBe(reason);
    await server.connections.at(-1)!.closed; // resolves only once the client dropped the socket
  });

  it('opens the vendor connection as soon as the session is opened, before anything is read', async () => {
    let connected!: () => void;
    const connection = new Promise<void>((resolve) => {
      connected = resolve;
    });
    server.handle({
      onConnection: () => connected(),
      onMessage: (socket, message) => {
        if ((message as { text: string }).text === '') socket.socket.close(1000);
      },
    });
    const session = withTtsResilience(createElevenLabsTts({ apiKey: 'k', baseUrl: server.httpUrl }), policy).open({ voiceId: 'v', language: '' });
    await connection; // would hang if the socket only opened on the first read
    session.end();
    expect(await collect(session.events)).toEqual([]);
  });
});
