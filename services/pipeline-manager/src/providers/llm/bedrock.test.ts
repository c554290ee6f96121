import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLlmResilience, type ResiliencePolicy } from '../resilience.ts';
import { encodeEvent, encodeException } from '../testing/aws-event-stream.ts';
import { closedPort, startFakeHttpServer, type FakeHttpServer } from '../testing/fake-http-server.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createBedrockLlm, parseAwsKey } from './bedrock.ts';

const policy: ResiliencePolicy = { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 500, firstEventTimeoutMs: 500, idleTimeoutMs: 500 };
const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const model = 'anthropic.claude-3-5-haiku-20241022-v1:0';

function sendEventStream(response: ServerResponse, frames: Uint8Array[], end = true): void {
  response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'req-1' });
  for (const frame of frames) response.write(frame);
  if (end) response.end();
}

function sendAwsError(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'req-2' });
  response.end(JSON.stringify({ message }));
}

describe('Bedrock ConverseStream against a fake event-stream endpoint', () => {
  let server: FakeHttpServer;
  beforeAll(async () => {
    server = await startFakeHttpServer(undefined, { protocol: 'h2c' });
  });
  afterAll(() => server.close());

  it('parses text, a streamed tool use and usage; sends signed Converse input', async () => {
    server.handle((_request, response) =>
      sendEventStream(response, [
        encodeEvent('messageStart', { role: 'assistant' }),
        encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'One moment.' } }),
        encodeEvent('contentBlockStop', { contentBlockIndex: 0 }),
        encodeEvent('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather' } } }),
        encodeEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":' } } }),
        encodeEvent('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"Oslo"}' } } }),
        encodeEvent('contentBlockStop', { contentBlockIndex: 1 }),
        encodeEvent('messageStop', { stopReason: 'tool_use' }),
        encodeEvent('metadata', { usage: { inputTokens: 50, outputTokens: 20, totalTokens: 70 }, metrics: { latencyMs: 100 } }),
      ]),
    );
    const llm = createBedrockLlm({ model, region: 'eu-west-1', credentials, baseUrl: server.baseUrl });
    const events = await collect(
      llm.stream({
        messages: [
          { role: 'system', content: 'Weather bot.' },
          { role: 'user', content: 'Bergen?' },
          { role: 'assistant', content: '', toolCalls: [{ id: 'tooluse_0', name: 'get_weather', arguments: '{"city":"Bergen"}' }] },
          { role: 'tool', toolCallId: 'tooluse_0', name: 'get_weather', content: 'rain' },
          { role: 'user', content: 'Oslo?' },
        ],
        tools: [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
        maxOutputTokens: 300,
      }),
    );
    expect(events).toEqual([
      { type: 'text-delta', text: 'One moment.' },
      { type: 'tool-call-start', id: 'tooluse_1', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'tooluse_1', argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', id: 'tooluse_1', argumentsDelta: '"Oslo"}' },
      { type: 'tool-call', id: 'tooluse_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'usage', inputTokens: 50, outputTokens: 20 },
      { type: 'done', finishReason: 'tool-calls' },
    ]);
    const received = server.requests.at(-1)!;
    expect(decodeURIComponent(received.url)).toBe(`/model/${model}/converse-stream`);
    expect(received.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/bedrock\/aws4_request/);
    expect(received.json).toMatchObject({
      system: [{ text: 'Weather bot.' }],
      inferenceConfig: { maxTokens: 300 },
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object' } } } }] },
      messages: [
        { role: 'user', content: [{ text: 'Bergen?' }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_0', name: 'get_weather', input: { city: 'Bergen' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_0', content: [{ text: 'rain' }] } }, { text: 'Oslo?' }] },
      ],
    });
  });

  it.each([
    [403, 'AccessDeniedException', 'auth'],
    [429, 'ThrottlingException', 'rate_limit'],
    [400, 'ValidationException', 'bad_request'],
    [500, 'InternalServerException', 'server'],
    [429, 'ServiceQuotaExceededException', 'quota'],
  ] as const)('classifies HTTP %i %s as %s', async (status, type, category) => {
    server.handle((_request, response) => sendAwsError(response, status, type, 'nope'));
    const llm = withLlmResilience(createBedrockLlm({ model, region: 'us-east-1', credentials, baseUrl: server.baseUrl }), policy);
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category, provider: `aws.${model}` });
  });

  it('classifies an exception frame inside the stream, a refused connection and a stall', async () => {
    server.handle((_request, response) => sendEventStream(response, [encodeEvent('messageStart', { role: 'assistant' }), encodeException('throttlingException', 'slow down')]));
    const llm = withLlmResilience(createBedrockLlm({ model, region: 'us-east-1', credentials, baseUrl: server.baseUrl }), policy);
    expect(await collectError(llm.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'rate_limit', retryable: true });

    const port = await closedPort();
    const refused = withLlmResilience(createBedrockLlm({ model, region: 'us-east-1', credentials, baseUrl: `http://127.0.0.1:${port}` }), policy);
    expect(await collectError(refused.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'connectivity' });

    server.handle((_request, response) => sendEventStream(response, [encodeEvent('messageStart', { role: 'assistant' })], false));
    const stalled = withLlmResilience(createBedrockLlm({ model, region: 'us-east-1', credentials, baseUrl: server.baseUrl }), { ...policy, firstEventTimeoutMs: 50 });
    expect(await collectError(stalled.stream({ messages: [{ role: 'user', content: 'Hi' }] }))).toMatchObject({ category: 'timeout' });
  });

  it('reads engine_key as access key, secret and optional session token', () => {
    expect(parseAwsKey('AKID:secret')).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret' });
    expect(parseAwsKey('AKID:secret:token:with:colons')).toEqual({ accessKeyId: 'AKID', secretAccessKey: 'secret', sessionToken: 'token:with:colons' });
    expect(parseAwsKey('just-one-part')).toBeUndefined();
  });
});
