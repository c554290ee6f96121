import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSttResilience, type ResiliencePolicy } from '../resilience.ts';
import { collect } from '../testing/collect.ts';
import { closedPort } from '../testing/fake-http-server.ts';
import { startFakeWebSocketServer, type FakeWebSocketServer } from '../testing/fake-websocket-server.ts';
import { createElevenLabsStt } from './elevenlabs.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 300, firstEventTimeoutMs: 300, idleTimeoutMs: 300 };

interface AudioChunk {
  message_type: string;
  audio_base_64: string;
  commit: boolean;
  sample_rate: number;
}

describe('ElevenLabs realtime STT against a fake /v1/speech-to-text/realtime socket', () => {
  let server: FakeWebSocketServer;
  beforeAll(async () => {
    server = await startFakeWebSocketServer();
  });
  afterAll(() => server.close());

  it('sends base64 chunks with the key and options; parses partial and committed transcripts', async () => {
    server.handle({
      onConnection: (connection) =>
        connection.socket.send(JSON.stringify({ message_type: 'session_started', session_id: 's1', config: { sample_rate: 16000, model_id: 'scribe_v2_realtime' } })),
      onMessage(connection, message) {
        const chunk = message as AudioChunk;
        if (chunk.commit) {
          connection.socket.send(JSON.stringify({ message_type: 'committed_transcript', text: 'hola a todos' }));
        } else if (connection.json.length === 1) {
          connection.socket.send(JSON.stringify({ message_type: 'partial_transcript', text: 'hola' }));
        }
      },
    });
    const stt = withSttResilience(createElevenLabsStt({ apiKey: 'xi', baseUrl: server.httpUrl }), policy);
    const session = await stt.start({ language: 'es-ES', sampleRate: 16_000 });
    session.write(new Int16Array(320).fill(5));
    session.write(new Int16Array(320).fill(6));
    await session.finish();
    const events = await collect(session.events);
    expect(events).toEqual([
      { type: 'interim', text: 'hola', language: 'es-ES' },
      { type: 'final', text: 'hola a todos', language: 'es-ES' },
      { type: 'endpoint' },
      { type: 'usage', audioSeconds: 0.04 },
    ]);
    const connection = server.connections.at(-1)!;
    expect(connection.headers['xi-api-key']).toBe('xi');
    const url = new URL(connection.url, 'http://x');
    expect(url.pathname).toBe('/v1/speech-to-text/realtime');
    expect(Object.fromEntries(url.searchParams)).toMatchObject({ model_id: 'scribe_v2_realtime', audio_format: 'pcm_16000', commit_strategy: 'vad', language_code: 'es' });
    const chunks = connection.json as unknown as AudioChunk[];
    expect(chunks.map((chunk) => [chunk.message_type, chunk.commit, chunk.sample_rate])).toEqual([
      ['input_audio_chunk', false, 16000],
      ['input_audio_chunk', false, 16000],
      ['input_audio_chunk', true, 16000],
    ]);
    const audio = Buffer.from(chunks[0]!.audio_base_64, 'base64');
    expect(audio.length).toBe(640);
    expect(audio.readInt16LE(0)).toBe(5);
  });

  it.each([
    ['quota_exceeded', 'quota'],
    ['rate_limited', 'rate_limit'],
    ['input_error', 'bad_request'],
    ['transcriber_error', 'server'],
  ] as const)('turns a %s message into a %s error event', async (messageType, category) => {
    server.handle({ onMessage: (connection) => connection.socket.send(JSON.stringify({ message_type: messageType, error: 'nope' })) });
    const session = await withSttResilience(createElevenLabsStt({ apiKey: 'xi', baseUrl: server.httpUrl }), policy).start({ language: '', sampleRate: 16_000 });
    session.write(new Int16Array(320));
    const events = await collect(session.events);
    expect(events.find((event) => event.type === 'error')).toMatchObject({ error: { category, provider: 'elevenlabs' } });
  });

  it('classifies a rejected key and a refused connection', async () => {
    server.rejectWith(401);
    try {
      await expect(withSttResilience(createElevenLabsStt({ apiKey: 'bad', baseUrl: server.httpUrl }), policy).start({ language: '', sampleRate: 16_000 })).rejects.toMatchObject({
        category: 'auth',
      });
    } finally {
      server.rejectWith(undefined);
    }
    const port = await closedPort();
    await expect(withSttResilience(createElevenLabsStt({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy).start({ language: '', sampleRate: 16_000 })).rejects.toMatchObject({
      category: 'connectivity',
    });
  });
});
