import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLlmResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, sendJsonError, sendSse, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createGeminiLlm } from './gemini.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

describe('Gemini LLM against a fake streamGenerateContent endpoint', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer();
  });
  afterAll(() => server.close());

  it('streams text, a function call and usage; sends contents, system instruction and tools', async () => {
    server.handle((_request, response) =>
      sendSse(response, [
        { data: { candidates: [{ content: { role: 'model', parts: [{ text: 'Checking' }] }, index: 0 }] } },
        { data: { candidates: [{ content: { role: 'model', parts: [{ text: ' now.' }] }, index: 0 }] } },
        {
          data: {
            candidates: [{ content: { role: 'model', parts: [{ functionCall: { id: 'fc_1', name: 'get_weather', args: { city: 'Paris' } } }] }, finishReason: 'STOP', index: 0 }],
            usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 9, totalTokenCount: 49 },
          },
        },
      ]),
    );
    const llm = createGeminiLlm({ model: 'gemini-2.5-flash', apiKey: 'g-key', baseUrl: server.baseUrl });
    const events = await collect(
      llm.stream({
        messages: [
          { role: 'system', content: 'Be helpful.' },
          { role: 'user', content: 'Rome?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'fc_0', name: 'get_weather', arguments: '{"city":"Rome"}' }] },
          { role: 'tool', toolCallId: 'fc_0', name: 'get_weather', content: '20 C' },
          { role: 'user', content: 'Paris?' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      }),
    );
    expect(events).toEqual([
      { type: 'text-delta', text: 'Checking' },
      { type: 'text-delta', text: ' now.' },
      { type: 'tool-call-start', id: 'fc_1', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'fc_1', argumentsDelta: '{"city":"Paris"}' },
      { type: 'tool-call', id: 'fc_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'usage', inputTokens: 40, outputTokens: 9 },
      { type: 'done', finishReason: 'tool-calls' },
    ]);
    const received = server.requests.at(-1)!;
    expect(received.url).toMatch(/^\/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent\?alt=sse/);
    expect(received.headers['x-goog-api-key']).toBe('g-key');
    expect(received.json).toMatchObject({
      systemInstruction: { parts: [{ text: 'Be helpful.' }] },
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather', parametersJsonSchema: { type: 'object' } }] }],
      contents: [
        { role: 'user', parts: [{ text: 'Rome?' }] },
        { role: 'model', parts: [{ functionCall: { id: 'fc_0', name: 'get_weather', args: { city: 'Rome' } } }] },
        { role: 'user', parts: [{ functionResponse: { id: 'fc_0', name: 'get_weather', response: { result: '20 C' } } }, { text: 'Paris?' }] },
      ],
    });
  });

  it.each([
    [400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', 'bad_request'],
    [403, 'PERMISSION_DENIED', 'Permission denied', 'auth'],
    [429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', 'rate_limit'],
    [500, 'INTERNAL', 'Internal error', 'server'],
  ] as const)('classifies HTTP %i %s (%s) as %s', async (code, status, message, category) => {
    server.handle((_request, response) => sendJsonError(response, code, { error: { code, message, status } }));
    const llm = withLlmResilience(createGeminiLlm({ model: 'gemini-x', apiKey: 'k', baseUrl: server.baseUrl }), policy);
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category, status: code });
  });

  it('classifies a refused connection and a stalled stream', async () => {
    const port = await closedPort();
    const refused = withLlmResilience(createGeminiLlm({ model: 'gemini-x', apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy);
    expect(await collectError(refused.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'connectivity' });

    server.handle((_request, response) => sendSse(response, [{ data: { candidates: [{ content: { role: 'model', parts: [{ text: 'a' }] } }] } }], { end: false }));
    const stalled = withLlmResilience(createGeminiLlm({ model: 'gemini-x', apiKey: 'k', baseUrl: server.baseUrl }), { ...policy, idleTimeoutMs: 50 });
    expect(await collectError(stalled.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'timeout' });
  });
});
