import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, sendJsonError, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import type { TtsProvider } from '../types.ts';
import { createAzureSpeechTts } from './azure-speech.ts';
import { createGoogleSpeechTts } from './google-speech.ts';
import { joinAudio, synthesize } from './synthesize.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

function wav(sampleRate: number, samples: number, value: number): Buffer {
  const data = Buffer.alloc(samples * 2);
  for (let index = 0; index < samples; index++) data.writeInt16LE(value, index * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

async function errorOf(tts: TtsProvider): Promise<unknown> {
  return collectError(synthesize(withTtsResilience(tts, policy), { text: 'Hi.', voiceId: '', language: '' }));
}

describe('REST TTS engines against fake vendors', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer();
  });
  afterAll(() => server.close());

  it('Azure: posts escaped SSML with the key and 16 kHz raw format, streams the PCM back', async () => {
    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'audio/x-wav' });
      const pcm = Buffer.alloc(3_200);
      pcm.writeInt16LE(1234, 0);
      response.write(pcm.subarray(0, 1_601));
      response.end(pcm.subarray(1_601));
    });
    const events = await collect(synthesize(createAzureSpeechTts({ apiKey: 'az', baseUrl: server.baseUrl }), { text: 'Fish & "chips" <now>', voiceId: 'en-GB-SoniaNeural', language: 'en-GB' }));
    const audio = joinAudio(events);
    expect(audio.length).toBe(1_600);
    expect(audio[0]).toBe(1234);
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/cognitiveservices/v1');
    expect(received.headers['ocp-apim-subscription-key']).toBe('az');
    expect(received.headers['x-microsoft-outputformat']).toBe('raw-16khz-16bit-mono-pcm');
    expect(received.body.toString()).toBe(
      '<speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-GB"><voice name="en-GB-SoniaNeural">Fish &#38; &#34;chips&#34; &#60;now&#62;</voice></speak>',
    );
  });

  it('Google: posts LINEAR16 at 16 kHz, strips the WAV header and resamples if the rate differs', async () => {
    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ audioContent: wav(16_000, 800, 77).toString('base64') }));
    });
    const events = await collect(synthesize(createGoogleSpeechTts({ apiKey: 'gk', baseUrl: server.baseUrl }), { text: 'Hallo.', voiceId: 'de-DE-Neural2-B', language: 'de-DE' }));
    const audio = joinAudio(events);
    expect(audio.length).toBe(800);
    expect(audio.every((sample) => sample === 77)).toBe(true);
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/v1/text:synthesize');
    expect(received.headers['x-goog-api-key']).toBe('gk');
    expect(received.json).toEqual({
      input: { text: 'Hallo.' },
      voice: { languageCode: 'de-DE', name: 'de-DE-Neural2-B' },
      audioConfig: { audioEncoding: 'LINEAR16', sampleRateHertz: 16_000 },
    });

    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ audioContent: wav(24_000, 2_400, 5).toString('base64') }));
    });
    const resampled = joinAudio(await collect(synthesize(createGoogleSpeechTts({ apiKey: 'gk', baseUrl: server.baseUrl }), { text: 'x', voiceId: '', language: '' })));
    expect(resampled.length).toBe(1_600);
  });

  it.each([
    [401, 'auth'],
    [429, 'rate_limit'],
    [400, 'bad_request'],
    [503, 'server'],
  ] as const)('classifies HTTP %i as %s for both', async (status, category) => {
    server.handle((_request, response) => sendJsonError(response, status, { error: { message: 'x' } }));
    expect(await errorOf(createAzureSpeechTts({ apiKey: 'k', baseUrl: server.baseUrl }))).toMatchObject({ category, status, provider: 'azure' });
    expect(await errorOf(createGoogleSpeechTts({ apiKey: 'k', baseUrl: server.baseUrl }))).toMatchObject({ category, status, provider: 'google' });
  });

  it('classifies a refused connection and a silent server', async () => {
    const port = await closedPort();
    expect(await errorOf(createAzureSpeechTts({ apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }))).toMatchObject({ category: 'connectivity' });
    server.handle(() => {
      // never answers
    });
    const silent = withTtsResilience(createGoogleSpeechTts({ apiKey: 'k', baseUrl: server.baseUrl }), { ...policy, firstEventTimeoutMs: 50 });
    expect(await collectError(synthesize(silent, { text: 'Hi.', voiceId: '', language: '' }))).toMatchObject({ category: 'timeout' });
  });
});
