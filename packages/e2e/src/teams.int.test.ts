import { registryProviders, type ProviderSource } from '@avp/pipeline-manager';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** What the pipeline asked the engines for: each LLM request (by member) and each sentence spoken (with its voice). */
interface Observed {
  llmRequests: { member: string; messages: { role: string; content: string }[] }[];
  sentences: { text: string; voiceId: string; language: string; engine: string }[];
  /** Each recogniser opened for the caller: the member it was built for and its language. */
  sttStarts: { member: string; language: string }[];
}

/** The offline engines, watched: the member an LLM or a recogniser was built for, and the voice and language of every sentence sent to TTS. */
function watchedProviders(observed: Observed): ProviderSource {
  return {
    llm(ai, messages) {
      const inner = registryProviders.llm(ai, messages);
      const member = String(ai.parameter.member_role ?? '');
      return {
        name: inner.name,
        stream(request) {
          observed.llmRequests.push({ member, messages: request.messages.map((message) => ({ role: message.role, content: message.content })) });
          return inner.stream(request);
        },
      };
    },
    tts(ai) {
      const inner = registryProviders.tts(ai);
      return {
        name: inner.name,
        open(options) {
          const session = inner.open(options);
          return {
            push(text) {
              observed.sentences.push({ text, voiceId: options.voiceId, language: options.language, engine: inner.name });
              return session.push(text);
            },
            end: () => session.end(),
            events: session.events,
          };
        },
      };
    },
    // The caller's words, recognised after its speech (no offline recogniser for a tone).
    stt(ai) {
      const inner = scriptedStt(['I have a question about my last invoice']);
      return {
        name: inner.name,
        start(options) {
          observed.sttStarts.push({ member: String(ai.parameter.member_role ?? ''), language: options.language });
          return inner.start(options);
        },
      };
    },
  };
}

const receptionScript = {
  script: [
    { say: 'Front desk of the harbour hotel, how may I help?' },
    { wait: 'answer', into: 'question' },
    { say: 'Let me put you through to our billing office.' },
    { tool: 'transfer_to_billing' },
  ],
};

/** The billing clerk's script replays the conversation so far (the scripted engine is stateless), then answers. */
const billingScript = {
  script: [
    { wait: 'answer', into: 'question' },
    { tool: 'transfer_to_billing' },
    { say: 'Billing office speaking, your invoice is fully paid.' },
    { end: true },
  ],
};

/**
 * A team on a call: the receptionist member greets and, asked about a bill, calls its
 * transition; the session moves to the billing member mid-call: its next sentence is spoken
 * in the billing member's voice, its LLM request carries the conversation so far, the AIcall
 * records `member_switched` and its `current_member_id`, and the billing member ends the
 * session with its own tool (the flow goes on after ai_talk).
 */
await describeModes('a team of AIs hands a call from one member to another', (mode) => {
  const observed: Observed = { llmRequests: [], sentences: [], sttStarts: [] };
  const stack = useStack({ mode, name: 'teams', pipelineManager: { createVad: async () => loudnessVad(), providers: watchedProviders(observed) } });
  const api: Api = (...args) => stack.api(...args);

  it('switches member, voice, language, recogniser and prompt mid-call and keeps the conversation', async () => {
    const reception = await api('POST', '/v1.0/ais', scriptedAi(receptionScript, { name: 'reception', tts_voice_id: 'en-us', parameter: { member_role: 'reception' } }));
    const billing = await api(
      'POST',
      '/v1.0/ais',
      scriptedAi(billingScript, { name: 'billing', tts_voice_id: 'en-gb', stt_language: 'en-GB', tool_names: ['stop_service'], parameter: { member_role: 'billing' } }),
    );
    const [front, back] = [randomUUID(), randomUUID()];
    const team = await api('POST', '/v1.0/teams', {
      name: 'harbour hotel',
      start_member_id: front,
      members: [
        { id: front, name: 'Reception', ai_id: reception.id, transitions: [{ function_name: 'transfer_to_billing', description: 'The caller asks about a bill or an invoice.', next_member_id: back }] },
        { id: back, name: 'Billing', ai_id: billing.id },
      ],
      parameter: { hotel: 'harbour' },
    });
    const number = await stack.numberWithFlow([
      { type: 'answer' },
      { type: 'ai_talk', option: { assistance_type: 'team', assistance_id: team.id } },
      { type: 'talk', option: { text: 'Back in the flow.' } },
      { type: 'hangup' },
    ]);

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558881234' });
    await caller.waitForAudio(20_000); // the receptionist's greeting
    await caller.waitForSilence(20_000);
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    const aicallOf = async () =>
      ((await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] }).result.find((entry) => entry.activeflow_id === activeflowId);
    await eventually(async () => (await aicallOf()) !== undefined, 'the session');
    const aicallId = (await aicallOf())!.id;
    const messages = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}`)) as { result: { role: string; content: string; active_ai_id: string; tool_calls: { function: { name: string } }[] }[] }).result.reverse();
    await eventually(async () => (await messages()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    expect(await api('GET', `/v1.0/aicalls/${aicallId}`)).toMatchObject({ assistance_type: 'team', assistance_id: team.id, current_member_id: front });

    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await caller.waitForHangup(60_000); // billing answers, ends with stop_service, then the flow's talk and hangup

    // The voice changed with the member: every sentence before the switch in the receptionist's, after it in billing's.
    const spoken = observed.sentences.filter((sentence) => sentence.engine === 'local');
    expect(spoken.map((sentence) => [sentence.text, sentence.voiceId, sentence.language])).toEqual([
      ['Front desk of the harbour hotel, how may I help?', 'en-us', 'en-US'],
      ['Let me put you through to our billing office.', 'en-us', 'en-US'],
      ['Billing office speaking, your invoice is fully paid.', 'en-gb', 'en-GB'],
    ]);
    // The caller was heard by the receptionist's recogniser, then by billing's, in its language.
    expect(observed.sttStarts).toEqual([
      { member: 'reception', language: 'en-US' },
      { member: 'billing', language: 'en-GB' },
    ]);
    // The billing member's LLM request: its own prompt, the team's parameter, and the conversation so far.
    const billingRequest = observed.llmRequests.find((request) => request.member === 'billing')!;
    const system = billingRequest.messages.filter((message) => message.role === 'system').map((message) => message.content);
    expect(system.some((content) => content.includes('Billing office speaking'))).toBe(true);
    expect(system.some((content) => content.includes('Front desk of the harbour hotel'))).toBe(false);
    expect(system.some((content) => content.includes('"hotel":"harbour"'))).toBe(true);
    expect(billingRequest.messages.filter((message) => message.role !== 'system')).toEqual([
      { role: 'assistant', content: 'Front desk of the harbour hotel, how may I help?' },
      { role: 'user', content: 'I have a question about my last invoice' },
      { role: 'assistant', content: 'Let me put you through to our billing office.' },
      { role: 'tool', content: expect.stringContaining('handed over to Billing') },
    ]);
    expect(observed.llmRequests.filter((request) => request.member === 'reception').length).toBeGreaterThanOrEqual(2);

    // The AIcall records the switch and the member answering now; the tool result kept no settings.
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
    expect(await api('GET', `/v1.0/aicalls/${aicallId}`)).toMatchObject({ current_member_id: back });
    const stored = await messages();
    const switched = stored.find((message) => message.role === 'notification' && message.content.includes('member_switched'))!;
    expect(JSON.parse(switched.content)).toMatchObject({
      type: 'member_switched',
      transition_function_name: 'transfer_to_billing',
      from_member: { id: front, name: 'Reception', ai: { id: reception.id, tts_voice_id: 'en-us' } },
      to_member: { id: back, name: 'Billing', ai: { id: billing.id, tts_voice_id: 'en-gb' } },
    });
    const toolResult = stored.find((message) => message.role === 'tool' && message.content.includes('handed over'))!;
    expect(toolResult.content).not.toContain('switch_member');
    const answers = stored.filter((message) => message.role === 'assistant' && message.content !== '');
    expect(answers.map((message) => [message.content, message.active_ai_id])).toEqual([
      ['Front desk of the harbour hotel, how may I help?', reception.id],
      ['Let me put you through to our billing office.', reception.id],
      ['Billing office speaking, your invoice is fully paid.', billing.id],
    ]);
    expect(stored.flatMap((message) => message.tool_calls.map((call) => call.function.name))).toEqual(['transfer_to_billing', 'stop_service']);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
  }, 120_000);

  it('answers a text AIcall of the team with the member the conversation was handed to', async () => {
    observed.llmRequests.length = 0;
    const reception = await api('POST', '/v1.0/ais', scriptedAi(receptionScript, { name: 'text reception', parameter: { member_role: 'reception' } }));
    const billing = await api('POST', '/v1.0/ais', scriptedAi(billingScript, { name: 'text billing', tool_names: ['stop_service'], parameter: { member_role: 'billing' } }));
    const [front, back] = [randomUUID(), randomUUID()];
    const team = await api('POST', '/v1.0/teams', {
      start_member_id: front,
      members: [
        { id: front, name: 'Reception', ai_id: reception.id, transitions: [{ function_name: 'transfer_to_billing', next_member_id: back }] },
        { id: back, name: 'Billing', ai_id: billing.id },
      ],
    });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'team', assistance_id: team.id, reference_type: '' });
    expect(aicall).toMatchObject({ assistance_type: 'team', assistance_id: team.id, current_member_id: front, status: 'progressing' });

    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'I have a question about my last invoice' });
    // The receptionist's words, then the billing clerk answers the same message and ends the session.
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id as string}`)).status === 'terminated', 'the session to end', 20_000);
    expect(await api('GET', `/v1.0/aicalls/${aicall.id as string}`)).toMatchObject({ current_member_id: back });
    const stored = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id as string}&page_size=100`)) as { result: { role: string; content: string; active_ai_id: string }[] }).result.reverse();
    const answers = stored.filter((message) => message.role === 'assistant' && message.content !== '');
    expect(answers.map((message) => [message.content, message.active_ai_id])).toEqual([
      ['Let me put you through to our billing office.', reception.id],
      ['Billing office speaking, your invoice is fully paid.', billing.id],
    ]);
    expect(stored.some((message) => message.role === 'notification' && message.content.includes('"member_switched"'))).toBe(true);
    const billingRequest = observed.llmRequests.find((request) => request.member === 'billing')!;
    expect(billingRequest.messages.filter((message) => message.role === 'user').map((message) => message.content)).toEqual(['I have a question about my last invoice']);
    expect(billingRequest.messages.filter((message) => message.role === 'system').some((message) => message.content.includes('Front desk'))).toBe(false);
  }, 60_000);
});
