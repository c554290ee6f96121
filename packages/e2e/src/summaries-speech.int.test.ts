import { createLlmProvider, registryProviders } from '@avp/pipeline-manager';
import { startFakeLlm, type FakeLlm } from '@avp/pipeline-manager/llm-fake';
import { resampleClip, synthesizeWithEspeak, type Aisummary } from '@avp/shared';
import { eventually, eventuallyFound } from '@avp/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeModes, scriptedAi, useStack, type Api, type Stack } from './testing/stack.ts';

interface Transcript {
  direction: 'in' | 'out';
  message: string;
  offset_ms: number;
}

/**
 * What the AI says, and what the caller asks for in between. The AI's lines are one sentence each
 * (commas, not full stops): a pause between sentences plus a process stall on a loaded machine
 * could reach the 600 ms after which the recogniser ends an utterance, and half a line matches no
 * phrase.
 */
const greeting = 'Hello, this is the booking line, how can I help you?';
const callerWords = 'I want to book an appointment';
const reply = 'Thank you, your appointment is booked, goodbye.';
/**
 * What the transcription listens for (the offline recogniser knows declared phrases only): the
 * caller's words and the AI's sentences. No sub-phrases: the grammar decoder would take a short
 * one for a whole utterance.
 */
const phrases = [callerWords, greeting, reply];

/** Lower case without punctuation, as the offline recogniser reports words. */
function spoken(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The AI's side of the transcripts: its sentences as it said them, in order, the reply always.
 * The greeting starts as soon as the transcription's legs are up; on a loaded machine its first
 * syllables can come before the out side's audio reaches the recogniser, which then (knowing
 * whole phrases only) hears no phrase in it: the greeting may be missing, never garbled.
 */
function expectAiSentences(transcripts: Transcript[]): void {
  const said = transcripts.filter((entry) => entry.direction === 'out').map((entry) => entry.message);
  expect([[spoken(greeting), spoken(reply)], [spoken(reply)]]).toContainEqual(said);
}

/** The talking AI: greets, hears what the caller wants, confirms and ends (the flow goes on after ai_talk). */
function bookingAi(api: Api) {
  return api(
    'POST',
    '/v1.0/ais',
    scriptedAi(
      { script: [{ say: greeting }, { wait: 'answer', into: 'request' }, { say: reply }, { end: true }] },
      { stt_type: 'local', tool_names: ['stop_service'], parameter: { stt_phrases: [callerWords] } },
    ),
  );
}

/**
 * Places a call to a number running `actions`, waits for the AI's greeting to be heard to the
 * end, says `callerWords` (espeak-ng) and waits for the flow to hang up; answers the call and
 * its activeflow's variables.
 */
async function bookingCall(stack: Stack, actions: object[], callerNumber: string) {
  const number = await stack.numberWithFlow(actions);
  const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber });
  await caller.waitForAnswer(10_000);
  const call = await eventuallyFound(
    async () => ((await stack.api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string | null }[]).find((entry) => entry.channel_id === caller.id && entry.activeflow_id),
    'the call and its flow',
    15_000,
  );
  await caller.waitForAudio(20_000);
  // The whole greeting played (it is stored once heard to the end), then the caller speaks.
  const stored = async () => {
    const aicall = ((await stack.api('GET', '/v1.0/aicalls?page_size=100')).result as { id: string; activeflow_id: string }[]).find((entry) => entry.activeflow_id === call.activeflow_id);
    return aicall ? ((await stack.api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}&page_size=100`)).result as { role: string; content: string }[]) : [];
  };
  await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === greeting), 'the greeting to be played', 30_000);
  await caller.play((await resampleClip(await synthesizeWithEspeak(callerWords, { voice: 'en-us' }), 16_000)).samples);
  // The AI confirms, ends; the flow asks for the summary and hangs up.
  await eventually(() => caller.ended, 'the flow to hang up after the AI', 40_000);
  const variables = (await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id!}`)).variables as Record<string, string>;
  return { call, variables };
}

/** The summary once it is no longer progressing. */
function written(stack: Stack, summaryId: string): Promise<Aisummary> {
  return eventuallyFound(
    async () => {
      const current = (await stack.api('GET', `/v1.0/aisummaries/${summaryId}`)) as unknown as Aisummary;
      return current.status === 'progressing' ? undefined : current;
    },
    'the summary to be written after the hang-up',
    60_000,
  );
}

/** The transcription's transcripts, oldest first. */
async function transcriptsOf(api: Api, transcribeId: string): Promise<Transcript[]> {
  // On the call's clock, as the summary reads them (a side's recogniser may report an earlier utterance after the other side's later one).
  return ((await api('GET', `/v1.0/transcripts?transcribe_id=${transcribeId}&page_size=100`)).result as Transcript[]).reverse().sort((a, b) => a.offset_ms - b.offset_ms);
}

/**
 * AI summaries of calls with real speech, on both run modes: a flow transcribes its call (both
 * sides, the offline recogniser listening for the declared phrases), an AI talks with the
 * caller (espeak-ng speech from the simulator), then `ai_summary` asks for a summary of the
 * call, which reuses the running transcription and is written when the flow hangs up. The
 * transcripts are what each side said; the offline summariser quotes the caller's request and
 * the on-end flow runs with the summary's variables; or a customer's AI on an OpenAI model
 * writes it through the OpenAI SDK at a fake vendor, which receives the transcripts and the
 * flow's variables, and its tokens are billed.
 */
await describeModes('AI summaries of spoken calls', (mode) => {
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm();
  });
  afterAll(async () => {
    await llm?.close();
  });
  const stack = useStack(() => ({
    mode,
    name: 'summaries-speech',
    aiManager: { transcribes: { sttType: 'local' } },
    pipelineManager: {
      providers: {
        ...registryProviders,
        // OpenAI models (the summarising AI) go to the fake vendor; the scripted talking AI to the registry.
        llm: (ai, messages) =>
          ai.engine_model.startsWith('openai.') ? createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llm.baseUrl}/v1`, OPENAI_API_KEY: llm.goodKey } }) : registryProviders.llm(ai, messages),
      },
    },
  }));
  const api: Api = (...args) => stack.api(...args);

  it('transcribes both sides of an AI call, summarises what the caller asked offline at the hang-up, runs the on-end flow, and shows it to no one else', async () => {
    const ai = await bookingAi(api);
    const onEnd = await api('POST', '/v1.0/flows', {
      actions: [{ type: 'variable_set', option: { key: 'summary_text', value: '${voipbin.ai_summary.content}' } }],
    });
    const { call, variables } = await bookingCall(
      stack,
      [
        { type: 'answer' },
        { type: 'transcribe_start', option: { direction: 'both', language: 'en-US', phrases } },
        { type: 'ai_talk', option: { ai_id: ai.id } },
        { type: 'ai_summary', option: { reference_type: 'call', on_end_flow_id: onEnd.id } },
        { type: 'hangup' },
      ],
      '+15550007001',
    );
    const transcribeId = variables['voipbin.transcribe.id']!;
    const summaryId = variables['voipbin.ai_summary.id']!;
    expect(transcribeId).toMatch(/^[0-9a-f-]{36}$/);
    expect(summaryId).toMatch(/^[0-9a-f-]{36}$/);

    const summary = await written(stack, summaryId);
    expect(summary.status, summary.failure_reason).toBe('done');
    // The summary summarised the flow's running transcription: no second one was started.
    expect(summary).toMatchObject({ reference_type: 'call', reference_id: call.id, activeflow_id: call.activeflow_id, transcribe_id: transcribeId, ai_id: null });
    const ofCall = ((await api('GET', '/v1.0/transcribes?page_size=100')).result as { id: string; reference_id: string }[]).filter((entry) => entry.reference_id === call.id);
    expect(ofCall.map((entry) => entry.id)).toEqual([transcribeId]);
    expect(await api('GET', `/v1.0/transcribes/${transcribeId}`)).toMatchObject({ direction: 'both', status: 'done' });

    // Each side's words: the caller's request in, the AI's sentences out.
    const transcripts = await transcriptsOf(api, transcribeId);
    expect(transcripts.filter((entry) => entry.direction === 'in').map((entry) => entry.message)).toEqual([spoken(callerWords)]);
    expectAiSentences(transcripts);
    // The caller spoke after the greeting and before the reply.
    const asked = transcripts.find((entry) => entry.direction === 'in')!;
    const said = transcripts.filter((entry) => entry.direction === 'out');
    expect(said.find((entry) => entry.message === spoken(reply))!.offset_ms).toBeGreaterThan(asked.offset_ms);
    const greeted = said.find((entry) => entry.message === spoken(greeting));
    if (greeted) expect(greeted.offset_ms).toBeLessThan(asked.offset_ms);

    // The offline summariser quotes what the caller asked for, and what the agent said.
    expect(summary.content).toMatch(/^Call Type\n/);
    expect(summary.content.toLowerCase()).toContain(`caller: ${spoken(callerWords)}`);
    expect(summary.content.toLowerCase()).toContain(`agent: ${spoken(reply)}`);

    // The on-end flow ran for the summary with its variables, and substituted its content.
    const onEndRun = await eventuallyFound(
      async () => ((await api('GET', '/v1.0/activeflows?page_size=100')).result as { id: string; reference_type: string; reference_id: string }[]).find((entry) => entry.reference_type === 'ai' && entry.reference_id === summaryId),
      'the on-end flow to start',
      15_000,
    );
    const ended = await eventuallyFound(
      async () => {
        const activeflow = await api('GET', `/v1.0/activeflows/${onEndRun.id}`);
        return activeflow.status === 'ended' ? activeflow : undefined;
      },
      'the on-end flow to run',
      15_000,
    );
    expect(ended.variables).toMatchObject({
      'voipbin.ai_summary.id': summaryId,
      'voipbin.ai_summary.reference_type': 'call',
      'voipbin.ai_summary.reference_id': call.id,
      'voipbin.ai_summary.language': 'en-US',
      'voipbin.ai_summary.content': summary.content,
      summary_text: summary.content,
    });

    // Another customer: none of it.
    const other = stack.apiAs(await stack.createCustomer('summaries-speech-other'));
    await expect(other('GET', `/v1.0/aisummaries/${summaryId}`)).rejects.toThrow(/404/);
    await expect(other('GET', `/v1.0/transcripts?transcribe_id=${transcribeId}`)).rejects.toThrow(/404/);
    expect((await other('GET', '/v1.0/aisummaries')).result).toEqual([]);
  }, 150_000);

  it("an AI on an OpenAI model writes the summary through the OpenAI SDK: one request with the call's transcripts and the flow's variables; its tokens are billed", async () => {
    const model = 'gpt-4o-mini';
    const answer = 'Call Type\n- Appointment booking\n\nKey Discussion Points\n- The caller wants to book an appointment';
    llm.script(model, () => ({ text: answer }));
    const talking = await bookingAi(api);
    const summarising = await api('POST', '/v1.0/ais', { name: 'summariser', engine_model: `openai.${model}`, engine_key: llm.goodKey, init_prompt: 'Not used for summaries.' });
    const { call, variables } = await bookingCall(
      stack,
      [
        { type: 'answer' },
        { type: 'variable_set', option: { key: 'customer_tier', value: 'gold' } },
        { type: 'transcribe_start', option: { direction: 'both', language: 'en-US', phrases } },
        { type: 'ai_talk', option: { ai_id: talking.id } },
        { type: 'ai_summary', option: { reference_type: 'call', ai_id: summarising.id } },
        { type: 'hangup' },
      ],
      '+15550007002',
    );
    const summaryId = variables['voipbin.ai_summary.id']!;
    const summary = await written(stack, summaryId);
    expect(summary.status, summary.failure_reason).toBe('done');
    expect(summary).toMatchObject({ reference_id: call.id, ai_id: summarising.id, transcribe_id: variables['voipbin.transcribe.id'] });
    expect(summary.content).toBe(answer);

    // The vendor got exactly one request: the transcripts (as stored, oldest first, the caller's words among them) and the flow's variables.
    const requests = llm.requests(model);
    expect(requests).toHaveLength(1);
    const [system, user] = requests[0]!.messages;
    expect(system).toMatchObject({ role: 'system' });
    expect(String(system!.content)).toContain('en-US');
    expect(user).toMatchObject({ role: 'user' });
    const text = String(user!.content);
    const sent = /^Transcript:\n(.*)\n\nVariables:\n(.*)$/s.exec(text);
    expect(sent, text).not.toBeNull();
    const transcripts = await transcriptsOf(api, summary.transcribe_id!);
    expect(JSON.parse(sent![1]!)).toEqual(transcripts.map((entry) => ({ speaker: entry.direction === 'in' ? 'caller' : 'agent', offset_ms: entry.offset_ms, text: entry.message })));
    expect(transcripts.filter((entry) => entry.direction === 'in').map((entry) => entry.message)).toEqual([spoken(callerWords)]);
    expectAiSentences(transcripts);
    expect(JSON.parse(sent![2]!)).toMatchObject({ customer_tier: 'gold', 'voipbin.transcribe.id': summary.transcribe_id, 'voipbin.ai_summary.id': summaryId });
    expect(requests[0]!.tools).toEqual([]);

    // The request's tokens (the fake reports 10 in, 5 out) were billed to the customer, with no AIcall.
    const account = ((await api('GET', '/v1.0/billing-accounts')).result as { id: string }[])[0]!;
    const entry = await eventuallyFound(
      async () =>
        ((await api('GET', `/v1.0/billing-accounts/${account.id}/ledger?page_size=100`)).result as { usage_kind: string; provider: string; aicall_id: string | null; input_tokens: number | null; output_tokens: number | null; amount: number }[]).find(
          (row) => row.usage_kind === 'llm' && row.provider === `openai.${model}`,
        ),
      'the summary tokens to be billed',
      20_000,
    );
    expect(entry).toMatchObject({ aicall_id: null, input_tokens: 10, output_tokens: 5 });
    expect(entry.amount).toBeLessThan(0);

    // Another customer's flow cannot name this AI to write its summaries: refused when saved.
    const other = stack.apiAs(await stack.createCustomer('summaries-speech-ai-other'));
    await expect(other('POST', '/v1.0/flows', { actions: [{ type: 'ai_summary', option: { reference_type: 'call', ai_id: summarising.id } }] })).rejects.toThrow(/400.*ai_id: no AI/);
  }, 150_000);
});
