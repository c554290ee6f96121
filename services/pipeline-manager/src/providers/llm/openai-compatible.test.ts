import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../provider-error.ts';
import { withLlmResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, sendJsonError, sendSse, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import type { LlmToolDefinition } from '../types.ts';
import { createOpenAiCompatibleLlm } from './openai-compatible.ts';

const fastPolicy: ResiliencePolicy = {
  maxAttempts: 2,
  initialBackoffMs: 1,
  maxBackoffMs: 2,
  connectTimeoutMs: 1_000,
  firstEventTimeoutMs: 1_000,
  idleTimeoutMs: 1_000,
};

const weatherTool: LlmToolDefinition = {
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function chunk(delta: object, finishReason: string | null = null, extra: object = {}) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra };
}

describe('OpenAI-compatible LLM against a fake chat completions server', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer();
  });
  afterAll(() => server.close());

  it('streams text and usage, sending model, key and messages', async () => {
    server.handle((_request, response) =>
      sendSse(response, [
        { data: chunk({ role: 'assistant', content: 'Hel' }) },
        { data: chunk({ content: 'lo.' }) },
        { data: chunk({}, 'stop') },
        { data: { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } } },
        { data: '[DONE]' },
      ]),
    );
    const llm = createOpenAiCompatibleLlm({ provider: 'groq', model: 'llama-3.3-70b', apiKey: 'key-groq', baseUrl: `${server.baseUrl}/openai/v1` });
    const events = await collect(
      llm.stream({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], temperature: 0.2 }),
    );
    expect(events).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo.' },
      { type: 'usage', inputTokens: 12, outputTokens: 3 },
      { type: 'done', finishReason: 'stop' },
    ]);
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/openai/v1/chat/completions');
    expect(received.headers.authorization).toBe('Bearer key-groq');
    expect(received.json).toMatchObject({
      model: 'llama-3.3-70b',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(llm.name).toBe('groq.llama-3.3-70b');
  });

  it('streams a tool call in fragments and sends tools and tool results', async () => {
    server.handle((_request, response) =>
      sendSse(response, [
        { data: chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '' } }] }) },
        { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) },
        { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) },
        { data: chunk({}, 'tool_calls') },
        { data: '[DONE]' },
      ]),
    );
    const llm = createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o-mini', apiKey: 'sk-test', baseUrl: `${server.baseUrl}/v1` });
    const events = await collect(
      llm.stream({
        messages: [
          { role: 'user', content: 'Weather in Rome?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Rome"}' }] },
          { role: 'tool', toolCallId: 'call_1', name: 'get_weather', content: '{"celsius":20}' },
          { role: 'user', content: 'And Paris?' },
        ],
        tools: [weatherTool],
      }),
    );
    expect(events).toEqual([
      { type: 'tool-call-start', id: 'call_9', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'call_9', argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', id: 'call_9', argumentsDelta: '"Paris"}' },
      { type: 'tool-call', id: 'call_9', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'done', finishReason: 'tool-calls' },
    ]);
    expect(server.requests.at(-1)!.json).toMatchObject({
      tools: [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: weatherTool.parameters } }],
      messages: [
        { role: 'user', content: 'Weather in Rome?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"celsius":20}' },
        { role: 'user', content: 'And Paris?' },
      ],
    });
  });

  it('talks to Azure deployments with the api-key header and api-version', async () => {
    server.handle((_request, response) => sendSse(response, [{ data: chunk({ content: 'ok' }, 'stop') }, { data: '[DONE]' }]));
    const llm = createOpenAiCompatibleLlm({ provider: 'azure', model: 'my-gpt4o', apiKey: 'azure-key', baseUrl: server.baseUrl, azureApiVersion: '2024-10-21' });
    const events = await collect(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
    expect(events[0]).toEqual({ type: 'text-delta', text: 'ok' });
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21');
    expect(received.headers['api-key']).toBe('azure-key');
  });

  it.each([
    [401, { error: { message: 'Incorrect API key', type: 'invalid_request_error' } }, 'auth', false],
    [429, { error: { message: 'Rate limit reached', type: 'requests' } }, 'rate_limit', true],
    [429, { error: { message: 'You exceeded your current quota', type: 'insufficient_quota' } }, 'quota', false],
    [400, { error: { message: 'Invalid model', type: 'invalid_request_error' } }, 'bad_request', false],
    [500, { error: { message: 'boom', type: 'server_error' } }, 'server', true],
  ] as const)('classifies HTTP %i as %s', async (status, body, category, retryable) => {
    server.handle((_request, response) => sendJsonError(response, status, body));
    const before = server.requests.length;
    const llm = withLlmResilience(createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o', apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), fastPolicy);
    const error = await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ category, retryable, status, provider: 'openai.gpt-4o' });
    // Retryable failures are tried again (once, with this policy); the others are not.
    expect(server.requests.length - before).toBe(retryable ? 2 : 1);
  });

  it('retries a 503 before the first token and then streams', async () => {
    let calls = 0;
    server.handle((_request, response) => {
      calls++;
      if (calls === 1) return sendJsonError(response, 503, { error: { message: 'overloaded' } });
      sendSse(response, [{ data: chunk({ content: 'second try' }, 'stop') }, { data: '[DONE]' }]);
    });
    const llm = withLlmResilience(createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o', apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), fastPolicy);
    const events = await collect(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
    expect(calls).toBe(2);
    expect(events[0]).toEqual({ type: 'text-delta', text: 'second try' });
  });

  it('does not retry once a token has been delivered', async () => {
    let calls = 0;
    server.handle((_request, response) => {
      calls++;
      sendSse(response, [{ data: chunk({ content: 'partial' }) }], { end: false });
      // Close the connection mid-stream (FIN, not RST: the event already written still arrives).
      response.socket?.end();
    });
    const llm = withLlmResilience(createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o', apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), fastPolicy);
    const seen: string[] = [];
    const error = await collectError(
      (async function* () {
        for await (const event of llm.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
          if (event.type === 'text-delta') seen.push(event.text);
          yield event;
        }
      })(),
    );
    expect(seen).toEqual(['partial']);
    expect(calls).toBe(1);
    expect(error).toMatchObject({ category: 'connectivity' });
  });

  it('classifies a refused connection as connectivity', async () => {
    const port = await closedPort();
    const llm = withLlmResilience(
      createOpenAiCompatibleLlm({ provider: 'ollama', model: 'llama3.2', apiKey: 'ollama', baseUrl: `http://127.0.0.1:${port}/v1` }),
      { ...fastPolicy, maxAttempts: 1 },
    );
    const error = await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }));
    expect(error).toMatchObject({ category: 'connectivity', retryable: true, provider: 'ollama.llama3.2' });
  });

  it('times out when the first token does not come, then when the stream stalls', async () => {
    server.handle((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.flushHeaders();
    });
    const llm = withLlmResilience(createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o', apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), {
      ...fastPolicy,
      maxAttempts: 1,
      firstEventTimeoutMs: 50,
      idleTimeoutMs: 50,
    });
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({
      category: 'timeout',
      message: expect.stringContaining('first event'),
    });

    server.handle((_request, response) => sendSse(response, [{ data: chunk({ content: 'then nothing' }) }], { end: false }));
    const events: string[] = [];
    const error = await collectError(
      (async function* () {
        for await (const event of llm.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
          events.push(event.type);
          yield event;
        }
      })(),
    );
    expect(events).toEqual(['text-delta']);
    expect(error).toMatchObject({ category: 'timeout', message: expect.stringContaining('no event') });
  });

  it('stops when the caller aborts, without a provider error', async () => {
    server.handle((_request, response) => sendSse(response, [{ data: chunk({ content: 'a' }) }], { end: false }));
    const llm = withLlmResilience(createOpenAiCompatibleLlm({ provider: 'openai', model: 'gpt-4o', apiKey: 'k', baseUrl: `${server.baseUrl}/v1` }), fastPolicy);
    const controller = new AbortController();
    const reason = new Error('barge-in');
    const error = await collectError(
      (async function* () {
        for await (const event of llm.stream({ messages: [{ role: 'user', content: 'Hi' }], signal: controller.signal })) {
          controller.abort(reason);
          yield event;
        }
      })(),
    );
    expect(error).toBe(reason);
  });
});
