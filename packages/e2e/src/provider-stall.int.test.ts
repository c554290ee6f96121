import type { ServerResponse } from 'node:http';
import { createLlmProvider, createTtsProvider, registryProviders } from '@avp/pipeline-manager';
import { startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import { defaultStallConfig, type EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const apiKey = 'sk-test-good';
const backupKey = 'sk-test-backup';

function chunk(delta: object, finishReason: string | null = null) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

function streamText(response: ServerResponse, text: string): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.write(`data: ${JSON.stringify(chunk({ content: text }))}\n\n`);
  response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
  response.end('data: [DONE]\n\n');
}

const modelOf = (request: RecordedRequest) => (request.json as { model: string }).model;

/**
 * Never silent, never stuck: an LLM or TTS vendor that takes the request and never answers,
 * through all three services and the Asterisk simulator. The LLM is reached through the real
 * `openai` SDK at a fake chat-completions server, the TTS through the SDK's speech endpoint at
 * another; the fallbacks are the AI's own settings (`fallback_engine_model`, `fallback_tts_type`).
 */
await describeModes('a stalled provider through the simulator', (mode) => {
  let llmVendor: FakeHttpServer;
  let speechVendor: FakeHttpServer;
  const held: ServerResponse[] = [];
  const pipelineEvents: EventEnvelope[] = [];

  beforeAll(async () => {
    llmVendor = await startFakeHttpServer();
    speechVendor = await startFakeHttpServer((_request, response) => void held.push(response)); // speech never comes
  });
  afterEach(() => {
    for (const response of held.splice(0)) response.destroy();
  });
  afterAll(async () => {
    await llmVendor?.close();
    await speechVendor?.close();
  });

  const stack = useStack({
    mode,
    name: 'stall',
    ariApp: 'stall',
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: {
        llm: (ai) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llmVendor.baseUrl}/v1`, OPENAI_API_KEY: apiKey } }),
        stt: () => scriptedStt([]),
        tts: (ai) =>
          ai.tts_type === 'openai'
            ? createTtsProvider(ai, { environment: { OPENAI_BASE_URL: `${speechVendor.baseUrl}/v1`, OPENAI_API_KEY: apiKey } })
            : registryProviders.tts(ai),
      },
    },
  });
  const api: Api = (...args) => stack.api(...args);

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-stall-pipeline-events' });
  });

  /** Answers `answer` for the models not in `stalled`; holds the others' requests forever. */
  function llmStalls(stalled: string[], answer = 'Hello, this is the clinic.') {
    llmVendor.handle((request, response) => (stalled.includes(modelOf(request)) ? void held.push(response) : streamText(response, answer)));
  }

  async function callAi(fields: Record<string, unknown>) {
    const ai = await api('POST', '/v1.0/ais', {
      name: 'stall',
      engine_model: 'openai.gpt-primary',
      init_prompt: 'You are the receptionist of a clinic.',
      tts_type: 'local',
      stt_language: 'en-US',
      turn_config: { stall: { timeout_secs: 0.5 } },
      ...fields,
    });
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'You are back in the flow. Goodbye.'));
    const caller = stack.simulator.placeCall({ app: 'stall', extension: number, callerNumber: '+15559990000' });
    await caller.waitForAnswer(10_000);
    let aicallId = '';
    let activeflowId = '';
    await eventually(async () => {
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; assistance_id: string; activeflow_id: string }[] };
      const aicall = aicalls.result.find((entry) => entry.assistance_id === ai.id);
      aicallId = aicall?.id ?? '';
      activeflowId = aicall?.activeflow_id ?? '';
      return aicallId !== '';
    }, 'the AIcall', 20_000);
    const stored = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string }[] }).result.slice().reverse();
    const stalls = () =>
      pipelineEvents
        .filter((event) => event.type === 'pipeline_stall' && (event.data as { aicall_id: string }).aicall_id === aicallId)
        .map((event) => `${(event.data as { stage: string }).stage} ${(event.data as { action: string }).action}`);
    const terminated = () => pipelineEvents.find((event) => event.type === 'pipeline_terminated' && (event.data as { aicall_id: string }).aicall_id === aicallId);
    return { ai, caller, aicallId, activeflowId, stored, stalls, terminated };
  }

  it('refuses fallback settings that could never be used, and never shows the fallback key', async () => {
    const base = { name: 'fallbacks', engine_model: 'openai.gpt-primary' };
    const keyAlone = await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_engine_key: 'sk-x' } });
    expect(keyAlone.status).toBe(400);
    expect(JSON.stringify(keyAlone.body)).toContain('fallback_engine_key');
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_engine_model: 'gpt-4o' } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_tts_type: 'robot' } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_tts_voice_id: 'en-us' } })).status).toBe(400);
    const ai = await api('POST', '/v1.0/ais', { ...base, fallback_engine_model: 'openai.gpt-backup', fallback_engine_key: backupKey, fallback_tts_type: 'local' });
    expect(ai).toMatchObject({ fallback_engine_model: 'openai.gpt-backup', fallback_engine_key_set: true, fallback_tts_type: 'local', fallback_tts_voice_id: '' });
    expect(JSON.stringify(ai)).not.toContain(backupKey);
    // PUT keeps the fallbacks when the body leaves them out.
    expect(await api('PUT', `/v1.0/ais/${ai.id}`, base)).toMatchObject({ fallback_engine_model: 'openai.gpt-backup', fallback_engine_key_set: true, fallback_tts_type: 'local' });
  });

  it('LLM without a first token: the caller hears the filler, the fallback model answers, the filler is not stored', async () => {
    llmStalls(['gpt-primary'], 'Hello from the backup model.');
    const { caller, aicallId, stored, stalls } = await callAi({ fallback_engine_model: 'openai.gpt-backup', fallback_engine_key: backupKey });
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'Hello from the backup model.'), 'the fallback answer', 20_000);
    expect(llmVendor.requests.slice(-3).map(modelOf)).toEqual(['gpt-primary', 'gpt-primary', 'gpt-backup']);
    expect(llmVendor.requests.at(-1)!.headers.authorization).toBe(`Bearer ${backupKey}`);
    await eventually(() => stalls().length === 3, 'the stall events');
    expect(stalls()).toEqual(['llm filler', 'llm retry', 'llm fallback']);
    expect((await stored()).filter((message) => message.role === 'assistant').map((message) => message.content)).toEqual(['Hello from the backup model.']);
    expect(await api('GET', `/v1.0/aicalls/${aicallId}`)).toMatchObject({ ai_fallback_engine_model: 'openai.gpt-backup' });
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 60_000);

  it('LLM stalls on every try: the AI apologises, the session ends with the reason and the flow goes on', async () => {
    llmStalls(['gpt-primary', 'gpt-backup']);
    const { caller, aicallId, activeflowId, stored, stalls, terminated } = await callAi({ fallback_engine_model: 'openai.gpt-backup' });
    await caller.waitForHangup(40_000); // apology, then the flow's talk and hangup
    await eventually(() => terminated() !== undefined, 'the pipeline_terminated event');
    expect(terminated()!.data).toMatchObject({ reason: expect.stringMatching(/^llm stalled/), error: { category: 'timeout' } });
    expect(stalls()).toEqual(['llm filler', 'llm retry', 'llm fallback', 'llm gave_up']);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
    const messages = await stored();
    expect(messages.filter((message) => message.role === 'assistant').map((message) => message.content)).toEqual([defaultStallConfig.apology_text]);
    expect(messages.some((message) => message.role === 'notification' && /llm stalled/.test(message.content))).toBe(true);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
  }, 60_000);

  it('TTS without audio: the fallback TTS says the filler and the answer', async () => {
    llmStalls([]);
    const { caller, aicallId, stored, stalls } = await callAi({ tts_type: 'openai', tts_voice_id: 'alloy', fallback_tts_type: 'local' });
    await caller.waitForAudio(20_000); // espeak-ng, the fallback, speaks
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'Hello, this is the clinic.'), 'the answer', 20_000);
    await eventually(() => stalls().length === 3, 'the stall events');
    expect(stalls()).toEqual(['tts filler', 'tts retry', 'tts fallback']);
    expect(speechVendor.requests.slice(-2).map((request) => (request.json as { input: string }).input)).toEqual(['Hello, this is the clinic.', 'Hello, this is the clinic.']);
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 60_000);

  it('TTS stalls with no fallback: the session ends with the reason and the flow goes on', async () => {
    llmStalls([]);
    const { caller, aicallId, stored, stalls, terminated } = await callAi({ tts_type: 'openai', tts_voice_id: 'alloy' });
    await caller.waitForHangup(40_000); // the flow's talk (its own espeak-ng), then hangup
    await eventually(() => terminated() !== undefined, 'the pipeline_terminated event');
    expect(terminated()!.data).toMatchObject({ reason: expect.stringMatching(/^tts stalled: no audio within 0.5 s/), error: { category: 'timeout' } });
    expect(stalls()).toEqual(['tts retry', 'tts gave_up']);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
    expect((await stored()).some((message) => message.role === 'notification' && /tts stalled/.test(message.content))).toBe(true);
  }, 60_000);
});
