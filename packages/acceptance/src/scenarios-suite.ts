import type { TelephonyKind } from '@avp/asterisk-testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '@avp/shared/testing';
import { expectNothingLeft, mediaLegsOf, placeCall, setUpAi, speech } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';
import type { LlmTurn } from '@avp/pipeline-manager/llm-fake';
import { describeOn, useCluster } from './suite.ts';

/**
 * The product overview's "Common Scenarios" and "Common HTTP Errors"
 * (shared/spec/voipbin-ai-overview.txt), run against ai-manager, flow-manager and
 * pipeline-manager as three processes on PostgreSQL and RabbitMQ. Calls come from the
 * Asterisk simulator; callers speak espeak-ng speech that the offline phrase recogniser
 * (`stt_type: local`) hears; the AI speaks with espeak-ng (`tts_type: local`); the LLM is
 * the real `openai` SDK in pipeline-manager talking to a fake chat-completions server whose
 * answers (text and tool calls) are chosen from the conversation it is sent.
 */
/** The suite against one telephony (its test file picks it: see acceptanceTelephony). */
export function scenariosSuite(telephony: TelephonyKind): void {
  describeOn(telephony, 'acceptance: common scenarios and HTTP errors (three processes, PostgreSQL + RabbitMQ)', () => {
  const clusterOf = useCluster('scenarios', { telephony });
  let cluster: Cluster | undefined;
  beforeEach(() => {
    cluster = clusterOf();
  });

  /** The previous assistant message's tool call that the tool message at the end answers. */
  const answeredToolCall = (turn: LlmTurn) => {
    const assistant = turn.conversation.filter((message) => message.role === 'assistant' && message.tool_calls?.length).at(-1);
    const call = assistant?.tool_calls?.find((entry) => entry.id === turn.last?.tool_call_id);
    return call ? { name: call.function.name, arguments: JSON.parse(call.function.arguments) as Record<string, unknown> } : undefined;
  };

  const words: Record<string, string> = { zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9' };

  it('scenario 1, customer service: the AI reads the order the flow looked up with get_variables and answers from it', async () => {
    const { client, setup, call } = await (async () => {
      const client = await cluster!.newCustomer('order-status');
      const setup = await setUpAi(client, {
        name: 'orders',
        tools: ['get_variables'],
        phrases: ['i want to check my order status', 'order one two three four five', 'order five four three two one', 'yes', 'no'],
        // The flow looked the order up before handing the call to the AI.
        flow: (aiId) => [
          { type: 'answer' },
          { type: 'variable_set', option: { key: 'order.12345.status', value: 'shipped yesterday and will arrive by Friday' } },
          { type: 'ai_talk', option: { ai_id: aiId } },
          { type: 'hangup' },
        ],
      });
      cluster!.llm.script(setup.model, (turn) => {
        if (turn.last?.role === 'tool') {
          const variables = (turn.toolResult?.data ?? {}) as Record<string, string>;
          const orderNumber = turn.lastUser.replace(/^order /, '').split(' ').map((word) => words[word] ?? '?').join('');
          const status = variables[`order.${orderNumber}.status`];
          return { text: status ? `Your order ${status}.` : `I could not find order ${orderNumber}.` };
        }
        if (turn.lastUser === '') return { text: 'Hello, this is the order desk. How can I help you?' };
        if (turn.lastUser.includes('order status')) return { text: 'I would be happy to help. What is your order number?' };
        if (turn.lastUser.startsWith('order ')) return { toolCalls: [{ name: 'get_variables', arguments: {} }] };
        return { text: 'Sorry, could you repeat that?' };
      });
      return { client, setup, call: await placeCall(cluster!, client, setup.number) };
    })();
    await call.waitForAnswer('Hello, this is the order desk. How can I help you?');
    await call.say('I want to check my order status');
    await call.waitForAnswer('I would be happy to help. What is your order number?');
    await call.say('Order one two three four five');
    const answer = await call.waitForAnswer('Your order shipped yesterday and will arrive by Friday.');

    const messages = await call.messages();
    expect(messages.filter((message) => message.role === 'user').map((message) => message.content)).toEqual(['i want to check my order status', 'order one two three four five']);
    const toolCall = messages.find((message) => message.tool_calls?.some((entry) => entry.function.name === 'get_variables'));
    expect(toolCall).toBeDefined();
    const toolResult = messages.find((message) => message.role === 'tool');
    expect(JSON.parse(toolResult!.content)).toMatchObject({ result: 'success', data: { 'order.12345.status': 'shipped yesterday and will arrive by Friday' } });
    expect(messages.findIndex((message) => message.id === answer.id)).toBeGreaterThan(messages.indexOf(toolResult!));
    // Four LLM requests: greeting, question, tool call, answer from the tool result.
    expect(cluster!.llm.requests(setup.model)).toHaveLength(4);

    call.caller.hangup();
    await expectNothingLeft(cluster!, client, call);
  }, 90_000);

  it('scenario 2, appointment: set_variables stores the day, connect_call bridges the caller to the scheduling team', async () => {
    const client = await cluster!.newCustomer('appointment');
    const setup = await setUpAi(client, {
      name: 'appointments',
      tools: ['set_variables', 'connect_call'],
      phrases: ['i need to schedule an appointment', 'next tuesday afternoon', 'next friday morning', 'yes', 'no'],
      flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'hangup' }],
    });
    cluster!.llm.script(setup.model, (turn) => {
      if (turn.last?.role === 'tool') {
        const answered = answeredToolCall(turn);
        if (answered?.name === 'set_variables') return { toolCalls: [{ name: 'connect_call', arguments: { destinations: [{ type: 'endpoint', target: cluster!.telephony.endpointFor('scheduling') }] } }] };
        return { text: '' };
      }
      if (turn.lastUser === '') return { text: 'Welcome! How can I help you today?' };
      if (turn.lastUser.includes('appointment')) return { text: 'What day works best for you?' };
      const [, day, time] = /^next (\w+) (\w+)$/.exec(turn.lastUser) ?? [];
      if (day && time) {
        return {
          text: 'Let me transfer you to our scheduling team with this information.',
          toolCalls: [{ name: 'set_variables', arguments: { variables: { preferred_date: `next ${day}`, time } } }],
        };
      }
      return { text: 'Sorry, could you repeat that?' };
    });
    const outbound = cluster!.telephony.nextOutboundCall(60_000);
    const call = await placeCall(cluster!, client, setup.number);
    await call.waitForAnswer('Welcome! How can I help you today?');
    await call.say('I need to schedule an appointment');
    await call.waitForAnswer('What day works best for you?');
    await call.say('Next Tuesday afternoon');

    // The scheduling team's phone rings and answers; the AI's media leg is gone.
    const agent = await outbound;
    await agent.waitForAnswer(10_000);
    await eventually(async () => (await mediaLegsOf(cluster!, call.caller.id)).length === 0, 'the AI media leg to go', 10_000, 50);
    const activeflow = await client.api<{ variables: Record<string, string>; status: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`);
    expect(activeflow.variables).toMatchObject({ preferred_date: 'next tuesday', time: 'afternoon' });
    const aicall = await client.api<{ status: string }>('GET', `/v1.0/aicalls/${await call.aicallId()}`);
    expect(['terminating', 'terminated']).toContain(aicall.status);

    // Caller and agent are bridged: each hears the other.
    const agentHears = agent.waitForAudio(10_000);
    await call.say('yes');
    await agentHears;
    const callerHears = call.caller.waitForAudio(10_000);
    await agent.play(await speech('no'));
    await callerHears;
    expect((await cluster!.telephony.bridges()).some((bridge) => bridge.channels.includes(call.caller.id) && bridge.channels.includes(agent.id))).toBe(true);

    const messages = await call.messages();
    expect(messages.find((message) => message.role === 'assistant' && message.content.startsWith('Let me transfer you'))).toBeDefined();
    expect(messages.flatMap((message) => message.tool_calls ?? []).map((entry) => entry.function.name)).toEqual(['set_variables', 'connect_call']);

    agent.hangup();
    await call.caller.waitForHangup(20_000);
    await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`)).status === 'ended', 'the flow to end', 20_000, 100);
    expect(await client.api('GET', `/v1.0/activeflows/${call.activeflowId}`)).toMatchObject({
      end_reason: 'hangup action',
      variables: expect.objectContaining({ preferred_date: 'next tuesday', time: 'afternoon', 'voipbin.connect.answered': 'true' }),
    });
    expect((await client.api<{ status: string }>('GET', `/v1.0/aicalls/${await call.aicallId()}`)).status).toBe('terminated');
  }, 90_000);

  it('scenario 3, voice survey: answers stored with set_variables, stop_service hands the call back to the flow', async () => {
    const client = await cluster!.newCustomer('survey');
    const setup = await setUpAi(client, {
      name: 'survey',
      tools: ['set_variables', 'stop_service'],
      phrases: ['yes please continue', 'no thank you', 'eight out of ten', 'three out of ten', 'shorter waiting times', 'friendlier staff'],
      flow: (aiId) => [
        { type: 'answer' },
        { type: 'ai_talk', option: { ai_id: aiId } },
        { type: 'talk', option: { text: 'Your score of ${q1_score} is saved. Goodbye.' } },
        { type: 'hangup' },
      ],
    });
    cluster!.llm.script(setup.model, (turn) => {
      if (turn.last?.role === 'tool') {
        const answered = answeredToolCall(turn);
        const variables = (answered?.arguments.variables ?? {}) as Record<string, string>;
        if ('q1_score' in variables) return { text: 'What could we improve?' };
        if ('q2_feedback' in variables) return { text: 'Thank you for your feedback!', toolCalls: [{ name: 'stop_service', arguments: {} }] };
        return { text: '' };
      }
      if (turn.lastUser === '') return { text: 'This is a brief satisfaction survey. May I continue?' };
      if (turn.lastUser.startsWith('yes')) return { text: 'On a scale of one to ten, how satisfied are you?' };
      if (turn.lastUser.endsWith('out of ten')) return { toolCalls: [{ name: 'set_variables', arguments: { variables: { q1_score: turn.lastUser.split(' ')[0] } } }] };
      return { toolCalls: [{ name: 'set_variables', arguments: { variables: { q2_feedback: turn.lastUser } } }] };
    });
    const call = await placeCall(cluster!, client, setup.number);
    await call.waitForAnswer('This is a brief satisfaction survey. May I continue?');
    await call.say('Yes please continue');
    await call.waitForAnswer('On a scale of one to ten, how satisfied are you?');
    await call.say('Eight out of ten');
    await call.waitForAnswer('What could we improve?');
    await call.say('Shorter waiting times');
    await call.waitForAnswer('Thank you for your feedback!');
    const thanksPlayedAt = call.caller.now();

    // The AI session ends and the flow goes on: its talk is heard, then it hangs up.
    await call.caller.waitForHangup(30_000);
    await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/aicalls/${await call.aicallId()}`)).status === 'terminated', 'the AIcall to end', 20_000, 100);
    await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/activeflows/${call.activeflowId}`)).status === 'ended', 'the flow to end', 20_000, 100);
    expect(await client.api('GET', `/v1.0/activeflows/${call.activeflowId}`)).toMatchObject({
      end_reason: 'hangup action',
      variables: expect.objectContaining({ q1_score: 'eight', q2_feedback: 'shorter waiting times' }),
    });
    expect(call.caller.heardSegments.some((segment) => segment.endMs > thanksPlayedAt + 500)).toBe(true);
    const tools = (await call.messages()).flatMap((message) => message.tool_calls ?? []).map((entry) => entry.function.name);
    expect(tools).toEqual(['set_variables', 'set_variables', 'stop_service']);
  }, 90_000);

  describe('common HTTP errors, with the documented body', () => {
    const expectErrorBody = (response: { status: number; headers: Headers; body: unknown }, status: number, expected: { status: string; reason: string; message?: RegExp }) => {
      expect(response.status).toBe(status);
      const body = response.body as { error: { status: string; reason: string; message: string; request_id: string } };
      expect(body.error).toMatchObject({ status: expected.status, reason: expected.reason, message: expect.any(String), request_id: expect.any(String) });
      expect(body.error.request_id).toBe(response.headers.get('x-request-id'));
      if (expected.message) expect(body.error.message).toMatch(expected.message);
    };

    it('400 Bad Request: an engine_model that is not <provider>.<model>', async () => {
      const client: Client = await cluster!.newCustomer('errors-400');
      for (const engine_model of ['gpt-4o', 'nosuchprovider.gpt-4o', 'openai.']) {
        const response = await client.request('POST', '/v1.0/ais', { name: 'bad model', engine_model });
        expectErrorBody(response, 400, { status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED', message: /engine_model/ });
      }
    });

    it('402 Payment Required: starting a session with a billing balance below the minimum', async () => {
      const client = await cluster!.newCustomer('errors-402', { balance: 0 });
      const ai = await client.api<{ id: string }>('POST', '/v1.0/ais', { name: 'broke', engine_model: 'openai.gpt-4o' });
      const response = await client.request('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id });
      expectErrorBody(response, 402, { status: 'PAYMENT_REQUIRED', reason: 'INSUFFICIENT_BALANCE', message: /balance/ });
      // The documented fix: the balance is visible, and a top-up lets the session start.
      const accounts = await client.api<{ result: { id: string; balance: number }[] }>('GET', '/v1.0/billing-accounts');
      expect(accounts.result).toEqual([expect.objectContaining({ balance: 0 })]);
      expect((await client.api<{ result: unknown[] }>('GET', '/v1.0/aicalls')).result).toEqual([]);
      await cluster!.admin('POST', `/v1.0/billing-accounts/${accounts.result[0]!.id}/balance_add`, { amount: 1_000_000 });
      expect((await client.request('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id })).status).toBe(200);
    });

    it("404 Not Found: another customer's AI is not found, exactly like a missing one", async () => {
      const owner = await cluster!.newCustomer('errors-404-owner');
      const other = await cluster!.newCustomer('errors-404-other');
      const ai = await owner.api<{ id: string }>('POST', '/v1.0/ais', { name: 'private', engine_model: 'openai.gpt-4o' });
      const foreign = await other.request('GET', `/v1.0/ais/${ai.id}`);
      const missing = await other.request('GET', '/v1.0/ais/00000000-0000-4000-8000-000000000000');
      expectErrorBody(foreign, 404, { status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND' });
      expectErrorBody(missing, 404, { status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND' });
      expect((foreign.body as { error: { message: string } }).error.message).toBe((missing.body as { error: { message: string } }).error.message);
      expectErrorBody(await other.request('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id }), 404, { status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND' });
      expectErrorBody(await other.request('PUT', `/v1.0/ais/${ai.id}`, { name: 'taken', engine_model: 'openai.gpt-4o' }), 404, { status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND' });
    });

    it('500 Internal Server Error: a session started through the public API on a live call with a bad provider key', async () => {
      const client = await cluster!.newCustomer('errors-500-api');
      // A call waiting in its flow (answered, then blocked); the AI is started on it through the API.
      const setup = await setUpAi(client, { name: 'badkey-api', engineKey: 'sk-revoked', flow: () => [{ type: 'answer' }, { type: 'block' }] });
      cluster!.llm.script(setup.model, () => ({ text: 'This key should never be accepted.' }));
      const call = await placeCall(cluster!, client, setup.number);
      const calls = await client.api<{ result: { id: string; channel_id: string }[] }>('GET', '/v1.0/calls');
      const callId = calls.result.find((entry) => entry.channel_id === call.caller.id)!.id;
      const response = await client.request('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: setup.aiId, reference_type: 'call', reference_id: callId });
      expectErrorBody(response, 500, { status: 'INTERNAL', reason: 'PROVIDER_ERROR', message: /401|key/i });
      expect(JSON.stringify(response.body)).not.toContain('sk-revoked');
      // The failed start leaves a terminated AIcall that says why, and no media leg.
      const aicalls = await client.api<{ result: { id: string; status: string }[] }>('GET', `/v1.0/aicalls?reference_id=${callId}`);
      expect(aicalls.result.map((entry) => entry.status)).toEqual(['terminated']);
      await eventually(async () => (await mediaLegsOf(cluster!, call.caller.id)).length === 0, 'no media leg', 20_000, 100);
      expect(cluster!.llm.requests(setup.model).map((turn) => turn.request.headers.authorization)).toEqual(['Bearer sk-revoked']);
      call.caller.hangup();
    }, 60_000);

    it('a bad provider key (the 500 case) ends the voice session at once with the reason, and the flow goes on', async () => {
      const client = await cluster!.newCustomer('errors-500');
      const setup = await setUpAi(client, {
        name: 'badkey',
        engineKey: 'sk-revoked',
        flow: (aiId) => [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: aiId } }, { type: 'talk', option: { text: 'Sorry, the assistant is not available.' } }, { type: 'hangup' }],
      });
      cluster!.llm.script(setup.model, () => ({ text: 'This key should never be accepted.' }));
      const call = await placeCall(cluster!, client, setup.number);
      await call.caller.waitForHangup(30_000);
      const aicallId = await call.aicallId();
      await eventually(async () => (await client.api<{ status: string }>('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000, 100);
      const notification = await call.waitForMessage((message) => message.role === 'notification', 'the notification');
      expect(notification.content).toMatch(/auth|key/i);
      expect(cluster!.llm.requests(setup.model).map((turn) => turn.request.headers.authorization)).toEqual(['Bearer sk-revoked']);
      expect((await call.messages()).some((message) => message.role === 'assistant')).toBe(false);
      expect(call.caller.heardSegments.length).toBeGreaterThan(0); // the flow's talk
      await expectNothingLeft(cluster!, client, call);
      expect(await client.api('GET', `/v1.0/activeflows/${call.activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
    }, 60_000);
  });
});
}
