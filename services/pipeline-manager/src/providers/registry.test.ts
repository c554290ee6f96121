import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAiCompatibleEndpoints, createLlmProvider, createSttProvider, createTtsProvider, sttPhrases, vendorEndpoints } from './registry.ts';
import { sendSse, startFakeHttpServer, type FakeHttpServer } from './testing/fake-http-server.ts';
import { collect } from './testing/collect.ts';
import type { LlmEvent } from './types.ts';

const textChunk = (text: string) => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: text }, finish_reason: 'stop' }] });

function text(events: LlmEvent[]): string {
  return events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('');
}

describe('provider registry', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer((request, response) => {
      if (request.url.includes('/messages')) {
        sendSse(response, [
          { event: 'message_start', data: { type: 'message_start', message: { id: 'm', type: 'message', role: 'assistant', model: 'x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } } },
          { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'claude' } } },
          { event: 'message_stop', data: { type: 'message_stop' } },
        ]);
      } else if (request.url.includes(':streamGenerateContent')) {
        sendSse(response, [{ data: { candidates: [{ content: { role: 'model', parts: [{ text: 'gemini' }] }, finishReason: 'STOP' }] } }]);
      } else {
        sendSse(response, [{ data: textChunk('compatible') }, { data: '[DONE]' }]);
      }
    });
  });
  afterAll(() => server.close());

  it.each(Object.keys(openAiCompatibleEndpoints).filter((name) => name !== 'azure'))(
    'routes %s.<model> through the openai SDK to its base URL with its key variable',
    async (provider) => {
      const vendor = openAiCompatibleEndpoints[provider as keyof typeof openAiCompatibleEndpoints];
      const environment = { [vendor.baseUrlVariable]: `${server.baseUrl}/${provider}/v1`, [vendor.keyVariables[0]!]: `env-key-${provider}` };
      const llm = createLlmProvider({ engine_model: `${provider}.some/model-1` }, { environment });
      expect(llm.name).toBe(`${provider}.some/model-1`);
      expect(text(await collect(llm.stream({ messages: [{ role: 'user', content: 'hi' }] })))).toBe('compatible');
      const received = server.requests.at(-1)!;
      expect(received.url).toBe(`/${provider}/v1/chat/completions`);
      expect(received.headers.authorization).toBe(`Bearer env-key-${provider}`);
      expect(received.json).toMatchObject({ model: 'some/model-1' });
    },
  );

  it("prefers the AI's engine_key over the environment", async () => {
    const environment = { OPENAI_BASE_URL: `${server.baseUrl}/v1`, OPENAI_API_KEY: 'env-key' };
    await collect(createLlmProvider({ engine_model: 'openai.gpt-4o', engine_key: 'ai-key' }, { environment }).stream({ messages: [{ role: 'user', content: 'hi' }] }));
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer ai-key');
  });

  it('builds anthropic and gemini from their base URL variables', async () => {
    const environment = {
      ANTHROPIC_BASE_URL: server.baseUrl,
      ANTHROPIC_API_KEY: 'a-key',
      GEMINI_BASE_URL: server.baseUrl,
      GOOGLE_API_KEY: 'g-key',
    };
    expect(text(await collect(createLlmProvider({ engine_model: 'anthropic.claude-x' }, { environment }).stream({ messages: [{ role: 'user', content: 'hi' }] })))).toBe('claude');
    expect(server.requests.at(-1)!.headers['x-api-key']).toBe('a-key');
    expect(text(await collect(createLlmProvider({ engine_model: 'gemini.gemini-x' }, { environment }).stream({ messages: [{ role: 'user', content: 'hi' }] })))).toBe('gemini');
    expect(server.requests.at(-1)!.headers['x-goog-api-key']).toBe('g-key');
  });

  it('lets ollama run without a key and needs one elsewhere', () => {
    expect(() => createLlmProvider({ engine_model: 'ollama.llama3.2' }, { environment: {} })).not.toThrow();
    expect(() => createLlmProvider({ engine_model: 'groq.llama' }, { environment: {} })).toThrow(expect.objectContaining({ category: 'auth', message: expect.stringContaining('GROQ_API_KEY') }));
    expect(() => createLlmProvider({ engine_model: 'azure.my-deployment' }, { environment: { AZURE_OPENAI_API_KEY: 'k' } })).toThrow(/AZURE_OPENAI_BASE_URL/);
    expect(() => createLlmProvider({ engine_model: 'aws.model', engine_key: 'not-a-pair' }, { environment: {} })).toThrow(expect.objectContaining({ category: 'auth' }));
  });

  it('rejects malformed engine models and unknown local engines', () => {
    expect(() => createLlmProvider({ engine_model: 'gpt-4o' })).toThrow(expect.objectContaining({ category: 'bad_request' }));
    expect(() => createLlmProvider({ engine_model: 'local.gpt' })).toThrow(/local\.scripted/);
  });

  it('runs local.scripted with no environment at all', async () => {
    const llm = createLlmProvider({ engine_model: 'local.scripted' }, { environment: {} });
    expect(text(await collect(llm.stream({ messages: [] })))).toMatch(/offline scripted assistant/);
  });

  it('picks TTS and STT engines by type, local and deepgram by default', () => {
    expect(createTtsProvider({ tts_type: '' }, { environment: {} }).name).toBe('local');
    for (const type of ['elevenlabs', 'deepgram', 'cartesia'] as const) {
      const vendor = vendorEndpoints[type];
      expect(createTtsProvider({ tts_type: type }, { environment: { [vendor.keyVariables[0]!]: 'k' } }).name).toBe(type);
      expect(() => createTtsProvider({ tts_type: type }, { environment: {} })).toThrow(expect.objectContaining({ category: 'auth' }));
    }
    expect(createTtsProvider({ tts_type: 'openai' }, { environment: { OPENAI_API_KEY: 'k' } }).name).toBe('openai');
    expect(createTtsProvider({ tts_type: 'azure' }, { environment: { AZURE_SPEECH_API_KEY: 'k', AZURE_SPEECH_REGION: 'westeurope' } }).name).toBe('azure');
    expect(() => createTtsProvider({ tts_type: 'azure' }, { environment: { AZURE_SPEECH_API_KEY: 'k' } })).toThrow(/AZURE_SPEECH_REGION/);
    expect(createTtsProvider({ tts_type: 'google' }, { environment: { GOOGLE_API_KEY: 'k' } }).name).toBe('google');
    expect(createTtsProvider({ tts_type: 'aws' }, { environment: { AWS_REGION: 'eu-west-1' } }).name).toBe('aws');
    expect(() => createTtsProvider({ tts_type: 'hume' }, { environment: {} })).toThrow(/not implemented/);
    expect(createSttProvider({ stt_type: '' }, { environment: { DEEPGRAM_API_KEY: 'k' } }).name).toBe('deepgram');
    expect(createSttProvider({ stt_type: 'cartesia' }, { environment: { CARTESIA_API_KEY: 'k' } }).name).toBe('cartesia');
    expect(createSttProvider({ stt_type: 'elevenlabs' }, { environment: { ELEVENLABS_API_KEY: 'k' } }).name).toBe('elevenlabs');
    expect(() => createSttProvider({ stt_type: 'google' }, { environment: {} })).toThrow(/not implemented/);
  });

  it('builds the offline STT without any key; a missing pocketsphinx binary fails at start', async () => {
    expect(createSttProvider({ stt_type: 'local', parameter: { stt_phrases: ['yes'] } }, { environment: {} }).name).toBe('local.pocketsphinx');
    expect(sttPhrases({ stt_phrases: ['yes', 2, 'my pin is <digits>'] })).toEqual(['yes', 'my pin is <digits>']);
    expect(sttPhrases({ stt_phrases: 'yes' })).toEqual([]);
    expect(sttPhrases(undefined)).toEqual([]);
    const missing = createSttProvider({ stt_type: 'local' }, { environment: { POCKETSPHINX_BIN: '/nonexistent/pocketsphinx_continuous' } });
    await expect(missing.start({ language: 'en-US', sampleRate: 16_000 })).rejects.toMatchObject({ category: 'bad_request', message: expect.stringMatching(/POCKETSPHINX_BIN/) });
  });
});
