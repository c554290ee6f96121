import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTtsResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createAwsPollyTts } from './aws-polly.ts';
import { joinAudio, synthesize } from './synthesize.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };
const credentials = { accessKeyId: 'AKIDPOLLY', secretAccessKey: 'secret' };

describe('Amazon Polly TTS against a fake SynthesizeSpeech endpoint (HTTP/2)', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer(undefined, { protocol: 'h2c' });
  });
  afterAll(() => server.close());

  it('asks for 16 kHz pcm with the voice and language, signed, and streams the audio back', async () => {
    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'audio/pcm', 'x-amzn-requestcharacters': '9' });
      const pcm = Buffer.alloc(640);
      pcm.writeInt16LE(-42, 0);
      response.write(pcm.subarray(0, 101));
      response.end(pcm.subarray(101));
    });
    const tts = createAwsPollyTts({ region: 'eu-central-1', credentials, baseUrl: server.baseUrl });
    const audio = joinAudio(await collect(synthesize(tts, { text: 'Guten Tag', voiceId: 'Vicki', language: 'de-DE' })));
    expect(audio.length).toBe(320);
    expect(audio[0]).toBe(-42);
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/v1/speech');
    expect(received.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDPOLLY\/\d{8}\/eu-central-1\/polly\/aws4_request/);
    expect(received.json).toEqual({ Text: 'Guten Tag', VoiceId: 'Vicki', OutputFormat: 'pcm', SampleRate: '16000', Engine: 'neural', LanguageCode: 'de-DE' });
  });

  it.each([
    [403, 'UnrecognizedClientException', 'auth'],
    [400, 'ThrottlingException', 'rate_limit'],
    [400, 'InvalidSsmlException', 'bad_request'],
    [500, 'ServiceFailureException', 'server'],
  ] as const)('classifies HTTP %i %s as %s', async (status, type, category) => {
    server.handle((_request, response) => {
      response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
      response.end(JSON.stringify({ message: 'nope' }));
    });
    const tts = withTtsResilience(createAwsPollyTts({ region: 'us-east-1', credentials, baseUrl: server.baseUrl }), policy);
    expect(await collectError(synthesize(tts, { text: 'Hi', voiceId: '', language: '' }))).toMatchObject({ category, provider: 'aws' });
  });

  it('classifies a refused connection', async () => {
    const port = await closedPort();
    const tts = withTtsResilience(createAwsPollyTts({ region: 'us-east-1', credentials, baseUrl: `http://127.0.0.1:${port}` }), policy);
    expect(await collectError(synthesize(tts, { text: 'Hi', voiceId: '', language: '' }))).toMatchObject({ category: 'connectivity' });
  });
});
