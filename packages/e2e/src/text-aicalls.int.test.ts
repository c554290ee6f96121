import { createLlmProvider, createPipelineManager, registryProviders, type PipelineManager } from '@avp/pipeline-manager';
import { startFakeLlm, type FakeLlm, type LlmTurn } from '@avp/pipeline-manager/llm-fake';
import { createMetricsRegistry, silentLogger } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeModes, useStack, type Api } from './testing/stack.ts';

interface Message {
  id: string;
  role: string;
  content: string;
  direction: string;
}

/**
 * Text AIcalls over the API (reference_type `""`): each message sent with POST /v1.0/aimessages
 * is answered in the background by pipeline-manager with the real OpenAI SDK, pointed at a fake
 * chat-completions vendor on 127.0.0.1 that answers from the whole conversation it receives.
 */
await describeModes('text AIcalls over the API', (mode) => {
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm();
  });
  afterAll(async () => {
    await llm?.close();
  });
  const providers = () => ({
    ...registryProviders,
    llm: (ai: { engine_model: string; engine_key?: string }) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llm.baseUrl}/v1`, OPENAI_API_KEY: llm.goodKey } }),
  });
  const stack = useStack(() => ({ mode, name: 'text-aicalls', pipelineManager: { providers: providers() } }));
  const api: Api = (...args) => stack.api(...args);

  /** Remembers a name and tells it back: it can only from the history it is sent. */
  const nameKeeper = (turn: LlmTurn) => {
    const said = turn.conversation.filter((message) => message.role === 'user').map((message) => String(message.content));
    const name = said.map((text) => /my name is (\w+)/i.exec(text)?.[1]).find(Boolean);
    if (/what is my name/i.test(turn.lastUser)) return { text: name ? `Your name is ${name}.` : 'You have not told me.' };
    if (/my name is/i.test(turn.lastUser)) return { text: `Nice to meet you, ${name}.` };
    return { text: `You wrote ${said.length} messages so far.` };
  };

  const messagesOf = async (aicallId: string): Promise<Message[]> => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)).result as Message[]).reverse();
  const answersOf = async (aicallId: string) => (await messagesOf(aicallId)).filter((message) => message.role === 'assistant').map((message) => message.content);

  it('answers three messages with the conversation as context, as text, billing LLM tokens only', async () => {
    const model = `text-${randomUUID().slice(0, 8)}`;
    llm.script(model, nameKeeper);
    const ai = await api('POST', '/v1.0/ais', { name: 'texter', engine_model: `openai.${model}`, init_prompt: 'You are the front desk of Acme.', tool_names: ['connect_call', 'get_variables', 'stop_service'] });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id, reference_type: '' });
    expect(aicall).toMatchObject({ reference_type: '', status: 'progressing', ai_tts_type: '' });

    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'Hello there' });
    await eventually(async () => (await answersOf(aicall.id as string)).length === 1, 'the first answer');
    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'My name is Ada' });
    await eventually(async () => (await answersOf(aicall.id as string)).length === 2, 'the second answer');
    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'What is my name?' });
    await eventually(async () => (await answersOf(aicall.id as string)).length === 3, 'the third answer');

    expect(await answersOf(aicall.id as string)).toEqual(['You wrote 1 messages so far.', 'Nice to meet you, Ada.', 'Your name is Ada.']);
    const stored = await messagesOf(aicall.id as string);
    expect(stored.filter((message) => message.role !== 'system').map((message) => `${message.role}: ${message.content}`)).toEqual([
      'notification: Not offered in a text conversation (they work in phone calls only): connect_call.',
      'user: Hello there',
      'assistant: You wrote 1 messages so far.',
      'user: My name is Ada',
      'assistant: Nice to meet you, Ada.',
      'user: What is my name?',
      'assistant: Your name is Ada.',
    ]);
    // What the vendor got: the chat prompt (not the phone one), the AI's prompt, the history; no voice-only tool.
    const requests = llm.requests(model);
    expect(requests).toHaveLength(3);
    const last = requests[2]!;
    expect(String(last.messages[0]!.content)).toMatch(/text conversation/);
    expect(String(last.messages[0]!.content)).not.toMatch(/phone call/);
    expect(last.messages[1]).toMatchObject({ role: 'system', content: 'You are the front desk of Acme.' });
    expect(last.conversation.map((message) => message.content)).toEqual(['Hello there', 'You wrote 1 messages so far.', 'My name is Ada', 'Nice to meet you, Ada.', 'What is my name?']);
    expect(last.tools.sort()).toEqual(['get_variables', 'stop_service']);
    // Billing: one LLM entry per request (the fake reports 10 + 5 tokens), nothing for speech.
    const account = ((await api('GET', '/v1.0/billing-accounts')).result as { id: string }[])[0]!;
    const ledgerOfCall = async () =>
      (((await api('GET', `/v1.0/billing-accounts/${account.id}/ledger?page_size=100`)).result ?? []) as { aicall_id: string | null; usage_kind: string; input_tokens: number | null }[]).filter(
        (entry) => entry.aicall_id === aicall.id,
      );
    await eventually(async () => (await ledgerOfCall()).length >= 3, 'the usage to be billed');
    const ledger = await ledgerOfCall();
    expect(ledger.map((entry) => [entry.usage_kind, entry.input_tokens])).toEqual([
      ['llm', 10],
      ['llm', 10],
      ['llm', 10],
    ]);
  });

  it('a message sent while the answer is written supersedes it: one answer, to the latest', async () => {
    const model = `race-${randomUUID().slice(0, 8)}`;
    llm.script(model, (turn) => ({ text: `Answer to: ${turn.lastUser}`, delayMs: 150 }));
    const ai = await api('POST', '/v1.0/ais', { name: 'racer', engine_model: `openai.${model}` });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id, reference_type: '' });
    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'first question' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'second question' });
    await eventually(() => llm.requests(model).length === 2, 'both messages to reach the LLM');
    await stack.aiManager.sessions.text.idle();
    expect(await answersOf(aicall.id as string)).toEqual(['Answer to: second question']);
    // The latest message's answer saw both messages.
    expect(llm.requests(model)[1]!.conversation.map((message) => message.content)).toEqual(['first question', 'second question']);
  });

  it('refuses a message into an ended text AIcall (409) and stores nothing', async () => {
    const model = `ended-${randomUUID().slice(0, 8)}`;
    llm.script(model, () => ({ text: 'ok' }));
    const ai = await api('POST', '/v1.0/ais', { name: 'ended', engine_model: `openai.${model}` });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id, reference_type: '' });
    await api('POST', `/v1.0/aicalls/${aicall.id}/terminate`);
    const late = await stack.request('POST', '/v1.0/aimessages', { body: { aicall_id: aicall.id, content: 'hello?' } });
    expect(late.status).toBe(409);
    expect((await messagesOf(aicall.id as string)).filter((message) => message.role === 'user')).toEqual([]);
  });

  it('the conversation goes on on another pipeline-manager when the one that answered is gone', async () => {
    const model = `moved-${randomUUID().slice(0, 8)}`;
    llm.script(model, nameKeeper);
    const ai = await api('POST', '/v1.0/ais', { name: 'mover', engine_model: `openai.${model}` });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id, reference_type: '' });
    await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'My name is Grace' });
    await eventually(async () => (await answersOf(aicall.id as string)).length === 1, 'the first answer');
    // A second pipeline-manager joins; the first one goes away between the messages.
    const second: PipelineManager = await createPipelineManager(
      { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `pipeline-manager-second-${randomUUID().slice(0, 8)}` },
      { providers: providers(), heartbeatIntervalMs: 0 },
    );
    await second.start();
    try {
      await stack.pipelineManager.stop();
      await api('POST', '/v1.0/aimessages', { aicall_id: aicall.id, content: 'What is my name?' });
      await eventually(async () => (await answersOf(aicall.id as string)).length === 2, 'the answer from the other pipeline-manager');
      expect((await answersOf(aicall.id as string))[1]).toBe('Your name is Grace.');
    } finally {
      await second.stop();
    }
  });
});
