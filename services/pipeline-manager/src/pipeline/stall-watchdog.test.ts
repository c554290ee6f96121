import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlmProvider, createTtsProvider } from '../providers/registry.ts';
import { startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from '../providers/testing/fake-http-server.ts';
import { Conversation, type ConversationEvent } from './conversation.ts';
import { FakeStt, FakeTransport, FakeVad } from './testing/fakes.ts';

/**
 * The stall watchdog through the real `openai` SDK (chat completions and speech) at fake
 * vendors on 127.0.0.1 that stall: they take the request and never answer.
 */

const timeoutSecs = 0.5;
const filler = 'One moment, please.';
const apology = 'Sorry, something is wrong on our side. Goodbye.';

let llmVendor: FakeHttpServer;
let ttsVendor: FakeHttpServer;
let fallbackTtsVendor: FakeHttpServer;
/** Chat requests to stall (by model), counted down per model; Infinity = always. */
const llmStalls = new Map<string, number>();
/** Speech requests to stall per vendor. */
const ttsStalls = new Map<FakeHttpServer, number>();
const held: ServerResponse[] = [];

function chunk(delta: object, finishReason: string | null = null) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

function stalls(counter: Map<unknown, number>, key: unknown): boolean {
  const left = counter.get(key) ?? 0;
  if (left <= 0) return false;
  counter.set(key, left - 1);
  return true;
}

function speechVendor(server: () => FakeHttpServer) {
  return (_request: RecordedRequest, response: ServerResponse) => {
    if (stalls(ttsStalls, server())) return void held.push(response);
    response.writeHead(200, { 'content-type': 'audio/pcm' });
    response.end(Buffer.alloc(24_000 * 2 * 0.2, 0x20)); // 200 ms at 24 kHz
  };
}

beforeAll(async () => {
  llmVendor = await startFakeHttpServer((request, response) => {
    const model = (request.json as { model: string }).model;
    if (stalls(llmStalls, model)) return void held.push(response);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(`data: ${JSON.stringify(chunk({ content: `Hello from ${model}.` }))}\n\n`);
    response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
    response.write(`data: ${JSON.stringify({ ...chunk({}), choices: [], usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 } })}\n\n`);
    response.end('data: [DONE]\n\n');
  });
  ttsVendor = await startFakeHttpServer(speechVendor(() => ttsVendor));
  fallbackTtsVendor = await startFakeHttpServer(speechVendor(() => fallbackTtsVendor));
});

afterAll(async () => {
  await Promise.all([llmVendor?.close(), ttsVendor?.close(), fallbackTtsVendor?.close()]);
});

const running: { conversation: Conversation; transport: FakeTransport }[] = [];
afterEach(async () => {
  for (const { conversation, transport } of running.splice(0)) {
    await conversation.stop('test over');
    await transport.close();
  }
  for (const response of held.splice(0)) response.destroy();
  llmStalls.clear();
  ttsStalls.clear();
  for (const server of [llmVendor, ttsVendor, fallbackTtsVendor]) server.requests.splice(0);
});

async function until(predicate: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const llm = (model: string) => createLlmProvider({ engine_model: `openai.${model}` }, { environment: { OPENAI_BASE_URL: `${llmVendor.baseUrl}/v1`, OPENAI_API_KEY: 'sk-llm' } });
const tts = (server: FakeHttpServer) => createTtsProvider({ tts_type: 'openai' }, { environment: { OPENAI_BASE_URL: `${server.baseUrl}/v1`, OPENAI_API_KEY: 'sk-tts' } });
const spoken = (server: FakeHttpServer) => server.requests.map((request) => (request.json as { input: string }).input);

async function converse(options: { fallbackLlm?: boolean; fallbackTts?: boolean }) {
  const transport = new FakeTransport();
  const events: ConversationEvent[] = [];
  const conversation = new Conversation({
    transport,
    vad: new FakeVad(),
    stt: new FakeStt(),
    llm: llm('primary'),
    tts: tts(ttsVendor),
    ...(options.fallbackLlm ? { fallbackLlm: llm('backup') } : {}),
    ...(options.fallbackTts ? { fallbackTts: tts(fallbackTtsVendor) } : {}),
    language: 'en-US',
    voiceId: 'alloy',
    messages: [{ role: 'system', content: 'You are a receptionist.' }],
    tools: [],
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => events.push(event),
    turnConfig: { stall: { timeout_secs: timeoutSecs, filler_text: filler, apology_text: apology } },
  });
  running.push({ conversation, transport });
  await conversation.start();
  const of = <T extends ConversationEvent['type']>(type: T) => events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);
  const stallActions = () => of('stall').map((event) => `${event.stage} ${event.action} ${event.provider}`);
  return { conversation, transport, of, stallActions };
}

describe('stall watchdog: the LLM gives no first token', () => {
  it('says the filler, retries the same model and speaks its answer; the filler is not stored', async () => {
    llmStalls.set('primary', 1);
    const { conversation, of, stallActions, transport } = await converse({});
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(stallActions()).toEqual(['llm filler openai.primary', 'llm retry openai.primary']);
    expect(of('assistant_message')[0]).toMatchObject({ text: 'Hello from primary.', interrupted: false });
    // The caller heard the filler first, then the answer, both from the AI's TTS.
    expect(spoken(ttsVendor)).toEqual([filler, 'Hello from primary.']);
    expect(new Set(transport.played.map((frame) => frame.segmentId)).size).toBe(2);
    expect(conversation.history().filter((message) => message.role === 'assistant')).toEqual([{ role: 'assistant', content: 'Hello from primary.' }]);
    expect(llmVendor.requests.map((request) => (request.json as { model: string }).model)).toEqual(['primary', 'primary']);
  });

  it('goes to the fallback model when the retry stalls too', async () => {
    llmStalls.set('primary', Infinity);
    const { of, stallActions } = await converse({ fallbackLlm: true });
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(stallActions()).toEqual(['llm filler openai.primary', 'llm retry openai.primary', 'llm fallback openai.primary']);
    expect(of('assistant_message')[0]!.text).toBe('Hello from backup.');
    expect(llmVendor.requests.map((request) => (request.json as { model: string }).model)).toEqual(['primary', 'primary', 'backup']);
    expect(of('usage').filter((usage) => usage.kind === 'llm').map((usage) => usage.provider)).toEqual(['openai.backup']);
  });

  it('apologises and ends the session with the reason when every model stalls', async () => {
    llmStalls.set('primary', Infinity);
    llmStalls.set('backup', Infinity);
    const { of, stallActions } = await converse({ fallbackLlm: true });
    await until(() => of('ended').length === 1, 'the end');
    expect(stallActions()).toEqual(['llm filler openai.primary', 'llm retry openai.primary', 'llm fallback openai.primary', 'llm gave_up openai.backup']);
    expect(spoken(ttsVendor)).toEqual([filler, apology]);
    expect(of('assistant_message').map((message) => message.text)).toEqual([apology]);
    expect(of('ended')[0]).toMatchObject({
      reason: expect.stringMatching(/^llm stalled: no first token within 0.5 s from openai.primary and openai.backup \(3 tries\)/),
      error: { category: 'timeout', provider: 'openai.backup' },
    });
  });
});

describe('stall watchdog: the TTS gives no audio', () => {
  it('retries the same engine (no filler: nothing else could say it)', async () => {
    ttsStalls.set(ttsVendor, 1);
    const { of, stallActions } = await converse({});
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(stallActions()).toEqual(['tts retry openai']);
    expect(spoken(ttsVendor)).toEqual(['Hello from primary.', 'Hello from primary.']);
    expect(of('assistant_message')[0]).toMatchObject({ text: 'Hello from primary.', interrupted: false });
  });

  it('has the fallback engine say the filler, then speak the answer when the retry stalls too', async () => {
    ttsStalls.set(ttsVendor, Infinity);
    const { of, stallActions, transport } = await converse({ fallbackTts: true });
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(stallActions()).toEqual(['tts filler openai', 'tts retry openai', 'tts fallback openai']);
    expect(spoken(fallbackTtsVendor)).toEqual([filler, 'Hello from primary.']);
    expect(of('assistant_message')[0]).toMatchObject({ text: 'Hello from primary.', interrupted: false });
    expect([...new Set(transport.played.map((frame) => frame.segmentId))]).toEqual(['1:0:-1', '1:0:0']);
  });

  it('ends the session with the reason, without an apology, when every engine stalls', async () => {
    ttsStalls.set(ttsVendor, Infinity);
    ttsStalls.set(fallbackTtsVendor, Infinity);
    const { of, stallActions } = await converse({ fallbackTts: true });
    await until(() => of('ended').length === 1, 'the end');
    expect(stallActions()).toEqual(['tts filler openai', 'tts retry openai', 'tts fallback openai', 'tts gave_up openai']);
    expect(of('assistant_message')).toEqual([]);
    expect(of('ended')[0]).toMatchObject({ reason: expect.stringMatching(/^tts stalled: no audio within 0.5 s/), error: { category: 'timeout' } });
  });
});
