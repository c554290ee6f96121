import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, sendJsonError, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createOpenAiSpeechTts } from './openai-speech.ts';
import { joinAudio } from './synthesize.ts';

const policy: ResiliencePolicy = { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

/** 24 kHz ramp audio as the vendor sends it: raw little-endian PCM. */
function pcm24k(samples: number): Buffer {
  const buffer = Buffer.alloc(samples * 2);
  for (let index = 0; index < samples; index++) buffer.writeInt16LE((index % 100) * 100, index * 2);
  return buffer;
}

describe('OpenAI speech TTS against a fake /v1/audio/speech', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer();
  });
  afterAll(() => server.close());

  it('requests pcm per sentence and resamples 24 kHz to 16 kHz, split at odd byte boundaries', async () => {
    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'audio/pcm' });
      const audio = pcm24k(2_400); // 100 ms
      response.write(audio.subarray(0, 1001)); // odd split: half a sample
      response.end(audio.subarray(1001));
    });
    const tts = withTtsResilience(createOpenAiSpeechTts({ apiKey: 'sk-tts', baseUrl: `${server.baseUrl}/v1` }), policy);
    const session = tts.open({ voiceId: 'nova', language: 'en' });
    session.push('First sentence.');
    session.push('Second one.');
    session.end();
    const events = await collect(session.events);

    const first = joinAudio(events.filter((event) => event.type === 'audio' && event.textIndex === 0));
    expect(Math.abs(first.length - 1_600)).toBeLessThanOrEqual(2); // 100 ms at 16 kHz
    expect(events.filter((event) => event.type === 'text-end')).toEqual([
      { type: 'text-end', textIndex: 0 },
      { type: 'text-end', textIndex: 1 },
    ]);
    expect(events.filter((event) => event.type === 'usage')).toEqual([
      { type: 'usage', characters: 15 },
      { type: 'usage', characters: 11 },
    ]);
    const requests = server.requests.slice(-2);
    expect(requests.map((request) => request.url)).toEqual(['/v1/audio/speech', '/v1/audio/speech']);
    expect(requests[0]!.headers.authorization).toBe('Bearer sk-tts');
    expect(requests.map((request) => request.json)).toEqual([
      { model: 'gpt-4o-mini-tts', voice: 'nova', input: 'First sentence.', response_format: 'pcm' },
      { model: 'gpt-4o-mini-tts', voice: 'nova', input: 'Second one.', response_format: 'pcm' },
    ]);
  });

  it.each([
    [401, 'auth'],
    [429, 'rate_limit'],
    [400, 'bad_request'],
    [500, 'server'],
  ] as const)('classifies HTTP %i as %s', async (status, category) => {
    server.handle((_request, response) => sendJsonError(response, status, { error: { message: 'x' } }));
    const tts = withTtsResilience(createOpenAiSpeechTts({ apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), { ...policy, maxAttempts: 1 });
    const session = tts.open({ voiceId: '', language: '' });
    session.push('Hi.');
    session.end();
    expect(await collectError(session.events)).toMatchObject({ category, status, provider: 'openai' });
  });

  it('retries a failed session before the first byte, replaying the text', async () => {
    let calls = 0;
    server.handle((_request, response) => {
      calls++;
      if (calls === 1) return sendJsonError(response, 503, { error: { message: 'busy' } });
      response.writeHead(200);
      response.end(pcm24k(240));
    });
    const tts = withTtsResilience(createOpenAiSpeechTts({ apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), policy);
    const session = tts.open({ voiceId: '', language: '' });
    session.push('Again.');
    session.end();
    const events = await collect(session.events);
    expect(calls).toBe(2);
    expect(server.requests.slice(-2).map((request) => (request.json as { input: string }).input)).toEqual(['Again.', 'Again.']);
    expect(joinAudio(events).length).toBeGreaterThan(0);
  });

  it('classifies a refused connection and times out waiting for audio', async () => {
    const port = await closedPort();
    const refused = withTtsResilience(createOpenAiSpeechTts({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}/v1` }), { ...policy, maxAttempts: 1 });
    const refusedSession = refused.open({ voiceId: '', language: '' });
    refusedSession.push('Hi.');
    expect(await collectError(refusedSession.events)).toMatchObject({ category: 'connectivity' });

    server.handle(() => {
      // never answers
    });
    const silent = withTtsResilience(createOpenAiSpeechTts({ apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), { ...policy, maxAttempts: 1, firstEventTimeoutMs: 50 });
    const silentSession = silent.open({ voiceId: '', language: '' });
    silentSession.push('Hi.');
    expect(await collectError(silentSession.events)).toMatchObject({ category: 'timeout' });
  });
});
