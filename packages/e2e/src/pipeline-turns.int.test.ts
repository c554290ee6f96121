import type { ServerResponse } from 'node:http';
import { createLlmProvider, registryProviders } from '@avp/pipeline-manager';
import { sendJsonError, sendSse, startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import type { EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const goodKey = 'sk-test-good';

/** A tone the VAD and STT doubles take for speech. */
const speech = (seconds: number): Int16Array =>
  Int16Array.from({ length: Math.round(16_000 * seconds) }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

function chunk(delta: object, finishReason: string | null = null) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

/** Streams `text` word by word as chat completion chunks, `delayMs` apart. */
async function streamText(response: ServerResponse, text: string, delayMs = 5): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const word of text.split(/(?<= )/)) {
    response.write(`data: ${JSON.stringify(chunk({ content: word }))}\n\n`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
  response.end('data: [DONE]\n\n');
}

type ChatMessage = { role: string; content: string | null };
const messagesOf = (request: RecordedRequest): ChatMessage[] => (request.json as { messages: ChatMessage[] }).messages;
const lastUser = (request: RecordedRequest): string => messagesOf(request).filter((message) => message.role === 'user').at(-1)?.content ?? '';

const longAnswer =
  'Our clinic opens at eight in the morning on every weekday. ' +
  'On Saturdays we open at nine and close at one in the afternoon. ' +
  'On Sundays and public holidays the clinic stays closed all day. ' +
  'For emergencies outside these hours please call the hospital line.';

/**
 * Conversation turns through all three services and the Asterisk simulator, with the LLM
 * reached through the real `openai` SDK at a fake chat-completions server on 127.0.0.1:
 * context over two turns, DTMF as a user event, barge-in mid-answer (the stored answer ends
 * where the caller stopped hearing it), and a provider failure that ends the session with a
 * reason while the flow goes on. STT and VAD are doubles (no offline recogniser for open speech).
 */
await describeModes('conversation turns through the simulator, with a fake LLM vendor', (mode) => {
  let vendor: FakeHttpServer;
  const pipelineEvents: EventEnvelope[] = [];
  /** What the STT double recognises next, per test. */
  const transcripts: string[] = [];

  beforeAll(async () => {
    vendor = await startFakeHttpServer();
  });
  afterAll(async () => {
    await vendor?.close();
  });

  const stack = useStack({
    mode,
    name: 'turns',
    ariApp: 'turns',
    aiManager: { sendCooldownMs: 1500 },
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: {
        ...registryProviders,
        llm: (ai) =>
          createLlmProvider(ai, {
            environment: { OPENAI_BASE_URL: `${vendor.baseUrl}/v1`, OPENAI_API_KEY: goodKey },
            resilience: { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 2000, firstEventTimeoutMs: 5000, idleTimeoutMs: 5000 },
          }),
        stt: () => scriptedStt(transcripts),
      },
    },
  });
  const api: Api = (...args) => stack.api(...args);

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-turns-pipeline-events' });
  });

  /** An AI on the fake OpenAI vendor, a flow `answer, ai_talk, talk, hangup` and a call into it. */
  async function callAi(engineKey?: string) {
    const ai = await api('POST', '/v1.0/ais', {
      name: 'turns',
      engine_model: 'openai.gpt-test',
      ...(engineKey ? { engine_key: engineKey } : {}),
      init_prompt: 'You are the receptionist of a clinic.',
      tts_type: 'local',
      stt_language: 'en-US',
    });
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'You are back in the flow. Goodbye.'));
    const caller = stack.simulator.placeCall({ app: 'turns', extension: number, callerNumber: '+15559990000' });
    await caller.waitForAnswer(10_000);
    let activeflowId = '';
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
      activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)?.activeflow_id ?? '';
      return activeflowId !== '';
    }, 'the call record');
    let aicallId = '';
    await eventually(async () => {
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
      return aicallId !== '';
    }, 'the AIcall', 20_000);
    const stored = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string }[] }).result.slice().reverse();
    return { caller, activeflowId, aicallId, stored };
  }

  it('keeps the context over two turns and hands DTMF to the LLM as a user event', async () => {
    const answers: Record<string, string> = {
      '': 'Hello, this is the clinic. How can I help?',
      'I would like an appointment.': 'Sure. Which day suits you?',
      'Tuesday please.': 'Tuesday it is. Press one to confirm.',
      '[The caller pressed the phone key 1]': 'Confirmed for Tuesday. Goodbye.',
    };
    const seen: RecordedRequest[] = [];
    vendor.handle(async (request, response) => {
      seen.push(request);
      await streamText(response, answers[lastUser(request)] ?? 'Sorry?');
    });
    transcripts.splice(0, transcripts.length, 'I would like an appointment.', 'Tuesday please.');
    const { caller, aicallId, stored } = await callAi();

    // The caller answers once each answer has been played to the end (recorded whole).
    const played = (text: string) => eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === text), `"${text}" to be played`, 20_000);
    await played(answers['']!);
    await caller.play(speech(0.8));
    await played(answers['I would like an appointment.']!);
    await caller.play(speech(0.8));
    await played(answers['Tuesday please.']!);
    await caller.sendDtmf('1');
    await eventually(() => seen.length >= 4, 'the LLM to run on the digit', 20_000);

    // Every request carries the whole conversation so far, system prompts first.
    const third = messagesOf(seen[2]!);
    expect(third[0]).toMatchObject({ role: 'system' });
    expect(third.filter((message) => message.role !== 'system')).toEqual([
      { role: 'assistant', content: 'Hello, this is the clinic. How can I help?' },
      { role: 'user', content: 'I would like an appointment.' },
      { role: 'assistant', content: 'Sure. Which day suits you?' },
      { role: 'user', content: 'Tuesday please.' },
    ]);
    expect(lastUser(seen[3]!)).toBe('[The caller pressed the phone key 1]');
    expect(seen[0]!.headers.authorization).toBe(`Bearer ${goodKey}`);
    expect(seen[0]!.json).toMatchObject({ model: 'gpt-test', stream: true });
    await eventually(async () => (await stored()).some((message) => message.content === 'Confirmed for Tuesday. Goodbye.'), 'the last answer stored', 20_000);
    // Each spoken answer is stored with its turn's latencies; the caller's messages have none.
    const all = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string; latency: Record<string, number> | null }[] }).result;
    const answer = all.find((message) => message.content === 'Sure. Which day suits you?')!;
    expect(answer.latency).toEqual({ first_audio_ms: expect.any(Number), stt_final_ms: expect.any(Number), llm_first_token_ms: expect.any(Number), tts_first_byte_ms: expect.any(Number), end_of_turn_ms: expect.any(Number) });
    expect(answer.latency!.first_audio_ms).toBeGreaterThan(0);
    expect(all.find((message) => message.content === 'I would like an appointment.')!.latency).toBeNull();

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 120_000);

  it('stops speaking on barge-in and stores the answer only as far as the caller heard it', async () => {
    const seen: RecordedRequest[] = [];
    vendor.handle(async (request, response) => {
      seen.push(request);
      const user = lastUser(request);
      await streamText(response, user === '' ? 'Hello, how can I help?' : user === 'When are you open?' ? longAnswer : 'Of course, goodbye.');
    });
    transcripts.splice(0, transcripts.length, 'When are you open?', 'Thanks, that is enough.');
    const { caller, aicallId, stored } = await callAi();

    await eventually(async () => (await stored()).some((message) => message.content === 'Hello, how can I help?'), 'the greeting to be played', 20_000);
    await caller.play(speech(0.8));
    await caller.waitForAudio(20_000); // The long answer starts.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const interruption = caller.interrupt(speech(0.8));
    await caller.waitForSilence(5000);
    await interruption;

    // The caller stopped hearing the bot soon after starting to talk over it.
    expect(caller.bargeInLatenciesMs.length).toBeGreaterThanOrEqual(1);
    expect(caller.bargeInLatenciesMs.at(-1)!).toBeLessThan(2000); // the rest of the answer would take ~10 s
    await eventually(() => pipelineEvents.some((event) => event.type === 'pipeline_barge_in' && (event.data as { aicall_id: string }).aicall_id === aicallId), 'the barge-in event');

    // The stored answer is the beginning of what the LLM wrote, cut where the audio stopped.
    let cut = '';
    await eventually(async () => {
      cut = (await stored()).find((message) => message.role === 'assistant' && longAnswer.startsWith(message.content.replace(/[.…]+$/, '').trim()) && message.content.length > 10)?.content ?? '';
      return cut !== '';
    }, 'the cut answer to be stored', 20_000);
    expect(cut.length).toBeLessThan(longAnswer.length - 40);
    // The interruption became the next user turn, and the LLM saw the cut answer in its history.
    await eventually(() => seen.length >= 3, 'the answer to the interruption', 20_000);
    const history = messagesOf(seen[2]!).filter((message) => message.role !== 'system');
    expect(history.at(-2)).toEqual({ role: 'assistant', content: cut });
    expect(history.at(-1)).toEqual({ role: 'user', content: 'Thanks, that is enough.' });

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 120_000);

  it('answers a message sent into the live call through the API by voice, after the cooldown', async () => {
    const seen: RecordedRequest[] = [];
    vendor.handle(async (request, response) => {
      seen.push(request);
      const user = lastUser(request);
      await streamText(response, user === '' ? 'Hello, how can I help?' : user === 'Please read me the opening hours.' ? 'We open at eight.' : 'Sorry?');
    });
    transcripts.splice(0);
    const { caller, aicallId, stored } = await callAi();
    await eventually(async () => (await stored()).some((message) => message.content === 'Hello, how can I help?'), 'the greeting to be played', 20_000);

    const send = () =>
      stack.request('POST', '/v1.0/aimessages', { body: { aicall_id: aicallId, role: 'user', content: 'Please read me the opening hours.' } });
    let sent = await send();
    if (sent.status === 429) {
      expect(sent.body).toMatchObject({ error: { status: 'RESOURCE_EXHAUSTED', reason: 'SEND_COOLDOWN' } });
      await new Promise((resolve) => setTimeout(resolve, 1600));
      sent = await send();
    }
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ aicall_id: aicallId, role: 'user', content: 'Please read me the opening hours.' });
    // A second message right away is inside the cooldown and is neither delivered nor stored.
    const again = await send();
    expect(again.status).toBe(429);
    expect(again.body).toMatchObject({ error: { reason: 'SEND_COOLDOWN' } });

    await eventually(() => seen.some((request) => lastUser(request) === 'Please read me the opening hours.'), 'the LLM to get the message', 20_000);
    await caller.waitForAudio(20_000);
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'We open at eight.'), 'the spoken answer', 20_000);
    expect((await stored()).filter((message) => message.content === 'Please read me the opening hours.')).toHaveLength(1);

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
    const late = await send();
    expect(late.status).toBe(409);
  }, 120_000);

  it('starts a session on a live call through POST /v1.0/aicalls, and answers 500 PROVIDER_ERROR when the provider refuses the key', async () => {
    vendor.handle(async (request, response) => {
      if (request.headers.authorization !== `Bearer ${goodKey}`) {
        sendJsonError(response, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
        return;
      }
      await streamText(response, 'Hello, an agent asked me to help you.');
    });
    transcripts.splice(0);
    const aiBody = { name: 'api-started', engine_model: 'openai.gpt-test', init_prompt: 'Help the caller.', tts_type: 'local', stt_language: 'en-US' };
    const good = await api('POST', '/v1.0/ais', aiBody);
    const bad = await api('POST', '/v1.0/ais', { ...aiBody, engine_key: 'sk-revoked' });
    // A call that waits in its flow (answered, then blocked) with no AI yet.
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
    const caller = stack.simulator.placeCall({ app: 'turns', extension: number, callerNumber: '+15559990001' });
    await caller.waitForAnswer(10_000);
    let callId = '';
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')) as { result: { id: string; channel_id: string }[] };
      callId = calls.result.find((entry) => entry.channel_id === caller.id)?.id ?? '';
      return callId !== '';
    }, 'the call record');

    // The provider refuses the key: a 500 with the documented body, and nothing keeps running.
    const refused = await stack.request('POST', '/v1.0/aicalls', { body: { assistance_type: 'ai', assistance_id: bad.id, reference_type: 'call', reference_id: callId } });
    expect(refused.status).toBe(500);
    expect(refused.body).toMatchObject({ error: { status: 'INTERNAL', reason: 'PROVIDER_ERROR', message: expect.stringMatching(/401|key/i), request_id: expect.any(String) } });
    expect(JSON.stringify(refused.body)).not.toContain('sk-revoked');
    const failed = ((await api('GET', `/v1.0/aicalls?reference_id=${callId}`)) as { result: { id: string; status: string }[] }).result;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.status).toBe('terminated');
    await eventually(() => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg of the failed start to go');

    // With a good key the session starts on the call: the AI greets the caller.
    const started = await stack.request('POST', '/v1.0/aicalls', { body: { assistance_type: 'ai', assistance_id: good.id, reference_type: 'call', reference_id: callId } });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ reference_type: 'call', reference_id: callId, ai_tts_type: 'local', ai_engine_model: 'openai.gpt-test' });
    const aicallId = (started.body as { id: string }).id;
    await caller.waitForAudio(20_000);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'progressing', 'the session to progress');
    const again = await stack.request('POST', '/v1.0/aicalls', { body: { assistance_type: 'ai', assistance_id: good.id, reference_type: 'call', reference_id: callId } });
    expect(again.status).toBe(409);

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
    const ended = await stack.request('POST', '/v1.0/aicalls', { body: { assistance_type: 'ai', assistance_id: good.id, reference_type: 'call', reference_id: callId } });
    expect(ended.status).toBe(409);
  }, 120_000);

  it('ends the session with a clear reason when the provider refuses the key, and the flow goes on', async () => {
    vendor.handle((request, response) => {
      if (request.headers.authorization !== `Bearer ${goodKey}`) {
        sendJsonError(response, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
        return;
      }
      sendSse(response, [{ data: chunk({ content: 'unexpected' }, 'stop') }, { data: '[DONE]' }]);
    });
    const { caller, activeflowId, aicallId, stored } = await callAi('sk-revoked');

    // No silence: the session ends at once and the caller hears the flow's next action.
    await caller.waitForAudio(20_000);
    await caller.waitForHangup(30_000);
    const ended = () => pipelineEvents.find((event) => event.type === 'pipeline_terminated' && (event.data as { aicall_id: string }).aicall_id === aicallId);
    await eventually(() => ended() !== undefined, 'the pipeline_terminated event'); // over RabbitMQ it may come after the hang-up
    expect(ended()?.data).toMatchObject({ error: { category: 'auth' } });
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
    expect((await stored()).some((message) => message.role === 'notification' && /auth|key/i.test(message.content))).toBe(true);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
    expect(vendor.requests.at(-1)!.headers.authorization).toBe('Bearer sk-revoked');
  }, 120_000);
});
