import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLlmResilience, type ResiliencePolicy } from '../resilience.ts';
import { closedPort, sendJsonError, sendSse, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createAnthropicLlm } from './anthropic.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };

const messageStart = {
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } },
};

describe('Anthropic LLM against a fake Messages API', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer();
  });
  afterAll(() => server.close());

  it('streams text and a tool call, sending system, tools and tool results in Anthropic form', async () => {
    server.handle((_request, response) =>
      sendSse(response, [
        { event: 'message_start', data: messageStart },
        { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check.' } } },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
        { event: 'content_block_start', data: { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'ris"}' } } },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index: 1 } },
        { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 31 } } },
        { event: 'message_stop', data: { type: 'message_stop' } },
      ]),
    );
    const llm = createAnthropicLlm({ model: 'claude-sonnet-4-5', apiKey: 'sk-ant-test', baseUrl: server.baseUrl });
    const events = await collect(
      llm.stream({
        messages: [
          { role: 'system', content: 'You are a weather bot.' },
          { role: 'user', content: 'Rome?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_0', name: 'get_weather', arguments: '{"city":"Rome"}' }] },
          { role: 'tool', toolCallId: 'toolu_0', name: 'get_weather', content: '20 C' },
          { role: 'user', content: 'And Paris?' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
      }),
    );
    expect(events).toEqual([
      { type: 'text-delta', text: 'Let me check.' },
      { type: 'tool-call-start', id: 'toolu_1', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'toolu_1', argumentsDelta: '{"city": "Pa' },
      { type: 'tool-call-delta', id: 'toolu_1', argumentsDelta: 'ris"}' },
      { type: 'tool-call', id: 'toolu_1', name: 'get_weather', arguments: '{"city": "Paris"}' },
      { type: 'usage', inputTokens: 25, outputTokens: 31 },
      { type: 'done', finishReason: 'tool-calls' },
    ]);
    const received = server.requests.at(-1)!;
    expect(received.url).toBe('/v1/messages');
    expect(received.headers['x-api-key']).toBe('sk-ant-test');
    expect(received.headers.authorization).toBe('Bearer sk-ant-test');
    expect(received.headers['anthropic-version']).toBeTruthy();
    expect(received.json).toMatchObject({
      model: 'claude-sonnet-4-5',
      stream: true,
      max_tokens: 1024,
      system: 'You are a weather bot.',
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Rome?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_0', name: 'get_weather', input: { city: 'Rome' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_0', content: '20 C' }, { type: 'text', text: 'And Paris?' }] },
      ],
    });
  });

  it.each([
    [401, 'authentication_error', 'auth'],
    [429, 'rate_limit_error', 'rate_limit'],
    [400, 'invalid_request_error', 'bad_request'],
    [529, 'overloaded_error', 'server'],
  ] as const)('classifies HTTP %i (%s) as %s', async (status, type, category) => {
    server.handle((_request, response) => sendJsonError(response, status, { type: 'error', error: { type, message: 'nope' } }));
    const llm = withLlmResilience(createAnthropicLlm({ model: 'claude-x', apiKey: 'k', baseUrl: server.baseUrl }), policy);
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category, status });
  });

  it('classifies an overloaded error event inside the stream as a retryable server error', async () => {
    server.handle((_request, response) =>
      sendSse(response, [
        { event: 'message_start', data: messageStart },
        { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } },
      ]),
    );
    const llm = withLlmResilience(createAnthropicLlm({ model: 'claude-x', apiKey: 'k', baseUrl: server.baseUrl }), policy);
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'server', retryable: true });
  });

  it('classifies a refused connection and a silent server', async () => {
    const port = await closedPort();
    const refused = withLlmResilience(createAnthropicLlm({ model: 'claude-x', apiKey: 'k', baseUrl: `http://127.0.0.1:${port}` }), policy);
    expect(await collectError(refused.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'connectivity' });

    server.handle(() => {
      // never answers
    });
    const silent = withLlmResilience(createAnthropicLlm({ model: 'claude-x', apiKey: 'k', baseUrl: server.baseUrl }), { ...policy, firstEventTimeoutMs: 50 });
    expect(await collectError(silent.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'timeout' });
  });
});
