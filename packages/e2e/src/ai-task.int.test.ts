import { createLlmProvider, registryProviders } from '@avp/pipeline-manager';
import { startFakeLlm, type FakeLlm, type LlmTurn } from '@avp/pipeline-manager/llm-fake';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeModes, useStack, type Api } from './testing/stack.ts';

/**
 * `ai_task` end to end: an activeflow started over the API holds a customer's message; the
 * task's AI (the real OpenAI SDK in pipeline-manager, pointed at a fake vendor on 127.0.0.1)
 * reads the flow's variables, classifies the message with set_variables, and the flow, which
 * waited for it, branches on the variable it set. A task that does not finish in time lets the
 * flow go on without it, and its late tool calls are refused.
 */
await describeModes('ai_task: a non-real-time AI step of a flow', (mode) => {
  let llm: FakeLlm;
  beforeAll(async () => {
    llm = await startFakeLlm();
  });
  afterAll(async () => {
    await llm?.close();
  });
  const stack = useStack(() => ({
    mode,
    name: 'ai-task',
    aiManager: { taskSessions: { timeoutMs: 3000 } },
    pipelineManager: {
      providers: {
        ...registryProviders,
        llm: (ai) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llm.baseUrl}/v1`, OPENAI_API_KEY: llm.goodKey } }),
      },
    },
  }));
  const api: Api = (...args) => stack.api(...args);

  /** Classifies the message it finds in the variables JSON, then says what it did. */
  const classifier = (turn: LlmTurn) => {
    if (turn.last?.role === 'tool') return { text: 'Classified the message.' };
    const context = String(turn.conversation.find((message) => message.role === 'user')?.content ?? '');
    const intent = /invoice|charge|refund/i.test(context) ? 'billing' : 'support';
    return { toolCalls: [{ name: 'set_variables', arguments: { variables: { intent } } }] };
  };

  /** A flow: the task, then a branch on `intent` to a variable naming the way it went. */
  async function classifyingFlow(model: string) {
    const ai = await api('POST', '/v1.0/ais', { name: `task-${model}`, engine_model: `openai.${model}`, init_prompt: 'Classify the customer message in ${customer.message} as billing or support.', tool_names: ['set_variables'] });
    const [billing, support, after] = [randomUUID(), randomUUID(), randomUUID()];
    const flow = await api('POST', '/v1.0/flows', {
      actions: [
        { type: 'ai_task', option: { ai_id: ai.id } },
        { type: 'branch', option: { variable: 'intent', target_ids: { billing, support }, default_target_id: support } },
        { id: billing, type: 'variable_set', option: { key: 'routed_to', value: 'the billing team' }, next_id: after },
        { id: support, type: 'variable_set', option: { key: 'routed_to', value: 'the support team' } },
        { id: after, type: 'variable_set', option: { key: 'done', value: 'yes' } },
      ],
    });
    return { ai, flow };
  }

  it('classifies a message and sets a variable the flow then branches on; LLM tokens are billed', async () => {
    const model = `classify-${randomUUID().slice(0, 8)}`;
    llm.script(model, classifier);
    const { flow } = await classifyingFlow(model);
    const run = async (message: string) => {
      const activeflow = await api('POST', '/v1.0/activeflows', { flow_id: flow.id, variables: { 'customer.message': message } });
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflow.id as string}`)).status === 'ended', 'the flow to end', 15_000);
      return api('GET', `/v1.0/activeflows/${activeflow.id as string}`);
    };
    const billed = await run('I was charged twice on my last invoice');
    expect(billed.variables).toMatchObject({ intent: 'billing', routed_to: 'the billing team', done: 'yes' });
    const helped = await run('My phone does not turn on');
    expect(helped.variables).toMatchObject({ intent: 'support', routed_to: 'the support team', done: 'yes' });

    // The task's AIcall: the LLM saw the flow's variables (the message) and the rendered prompt; it ended.
    const aicalls = (await api('GET', '/v1.0/aicalls?page_size=100')).result as { id: string; reference_type: string; activeflow_id: string; status: string }[];
    const task = aicalls.find((aicall) => aicall.activeflow_id === billed.id)!;
    expect(task).toMatchObject({ reference_type: 'task', status: 'terminated' });
    const first = JSON.stringify(llm.requests(model)[0]?.messages);
    expect(first).toContain('I was charged twice on my last invoice');
    expect(first).toContain('Classify the customer message in I was charged twice');
    const messages = ((await api('GET', `/v1.0/aimessages?aicall_id=${task.id}&page_size=100`)).result as { role: string; content: string }[]).reverse();
    expect(messages.filter((message) => message.role === 'assistant').at(-1)?.content).toBe('Classified the message.');
    const account = ((await api('GET', '/v1.0/billing-accounts')).result as { id: string }[])[0]!;
    await eventually(async () => {
      const ledger = (await api('GET', `/v1.0/billing-accounts/${account.id}/ledger?page_size=100`)).result as { usage_kind: string; aicall_id: string | null }[];
      return ledger.some((entry) => entry.usage_kind === 'llm' && entry.aicall_id === task.id);
    }, 'the task LLM tokens to be billed');
  });

  it('a task that does not finish in time: the flow goes on without it, and its late tool call is refused', async () => {
    const model = `slow-${randomUUID().slice(0, 8)}`;
    llm.script(model, (turn) => (turn.last?.role === 'tool' ? { text: 'Done late.' } : { toolStallMs: 5000, toolCalls: [{ name: 'set_variables', arguments: { variables: { intent: 'billing' } } }] }));
    const { flow } = await classifyingFlow(model);
    const activeflow = await api('POST', '/v1.0/activeflows', { flow_id: flow.id, variables: { 'customer.message': 'refund please' } });
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflow.id as string}`)).status === 'ended', 'the flow to go on after the timeout', 15_000);
    const ended = await api('GET', `/v1.0/activeflows/${activeflow.id as string}`);
    // No intent was set in time: the branch took its default.
    expect(ended.variables).toMatchObject({ routed_to: 'the support team' });
    expect((ended.variables as Record<string, string>).intent).toBeUndefined();
    const aicalls = (await api('GET', '/v1.0/aicalls?page_size=100')).result as { id: string; activeflow_id: string; status: string }[];
    const task = aicalls.find((aicall) => aicall.activeflow_id === activeflow.id)!;
    const notices = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${task.id}&page_size=100`)).result as { role: string; content: string }[]).filter((message) => message.role === 'notification');
    expect((await notices()).map((message) => message.content)).toContainEqual(expect.stringContaining('did not finish within 3 s'));
    // The LLM's late set_variables reaches ai-manager and is refused: the variable stays unset.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(((await api('GET', `/v1.0/activeflows/${activeflow.id as string}`)).variables as Record<string, string>).intent).toBeUndefined();
  });
});
