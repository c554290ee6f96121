import { startFakeLineApi, startFakeSmsApi, signLine, signTwilio, type FakeLineApi, type FakeSmsApi } from '@avp/ai-manager/testing/messaging-fakes';
import { createLlmProvider, registryProviders } from '@avp/pipeline-manager';
import { startFakeLlm, type FakeLlm, type LlmTurn } from '@avp/pipeline-manager/llm-fake';
import { OutboundPolicy, parseOutboundAllowList } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeModes, useStack, type Api, type Stack } from './testing/stack.ts';

interface ConversationMessage {
  direction: 'incoming' | 'outgoing';
  text: string;
  delivery_status: string;
  aicall_id: string | null;
}

const publicUrl = 'https://hooks.example.test';

/**
 * SMS and LINE conversations with an AI, end to end: the vendor's webhook (signed as the vendor
 * signs it) runs the number's or channel's message flow, whose ai_talk hands the message to the
 * conversation's AIcall; pipeline-manager answers through the real OpenAI SDK pointed at a fake
 * vendor on 127.0.0.1, and the reply goes out through loopback fakes of Twilio's and LINE's APIs,
 * which record what they receive.
 */
await describeModes('SMS and LINE conversations with an AI', (mode) => {
  let llm: FakeLlm;
  let sms: FakeSmsApi;
  let line: FakeLineApi;
  /** How far the clock ai-manager's idle expiry reads is ahead of the real one. */
  let clockAheadMs = 0;
  beforeAll(async () => {
    llm = await startFakeLlm();
    sms = await startFakeSmsApi('SM00000000000000000000000000000001');
    line = await startFakeLineApi();
  });
  afterAll(async () => {
    await llm?.close();
    await sms?.close();
    await line?.close();
  });
  const stack: Stack = useStack(() => ({
    mode,
    name: 'conversations',
    aiManager: {
      outbound: new OutboundPolicy(parseOutboundAllowList('127.0.0.1')),
      publicUrl,
      textSessions: { now: () => Date.now() + clockAheadMs, idleSweepIntervalMs: 0 },
    },
    pipelineManager: {
      providers: {
        ...registryProviders,
        llm: (ai) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llm.baseUrl}/v1`, OPENAI_API_KEY: llm.goodKey } }),
      },
    },
  }));
  const api: Api = (...args) => stack.api(...args);

  /** A message flow with ai_talk, on a new number; and an SMS channel pointing at the fake. */
  async function smsSetup(model: string, toolNames: string[] = [], fields: Record<string, unknown> = {}) {
    const ai = await api('POST', '/v1.0/ais', { name: `sms-${model}`, engine_model: `openai.${model}`, tool_names: toolNames, ...fields });
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: ai.id } }] });
    const number = `+1555${Math.floor(Math.random() * 1e7).toString().padStart(7, '0')}`;
    await api('POST', '/v1.0/numbers', { number, message_flow_id: flow.id });
    const channel = await api('POST', '/v1.0/conversation_channels', { type: 'sms', name: 'twilio', api_base_url: sms.url, account_sid: 'ACe2e', auth_token: 'twilio-secret' });
    return { ai, number, channel };
  }

  /** Posts an inbound SMS the way Twilio does: form-encoded and signed with the channel's auth token. */
  async function textIn(channel: Record<string, unknown>, from: string, to: string, body: string, options: { token?: string; sid?: string } = {}) {
    const params = { MessageSid: options.sid ?? `SM${randomUUID().replaceAll('-', '')}`, AccountSid: 'ACe2e', From: from, To: to, Body: body, NumMedia: '0' };
    const url = `/v1.0/conversation_channels/${channel.id as string}/webhook`;
    expect(channel.webhook_url).toBe(`${publicUrl}${url}`);
    const response = await stack.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilio(`${publicUrl}${url}`, params, options.token ?? 'twilio-secret') },
      payload: new URLSearchParams(params).toString(),
    });
    return response.statusCode;
  }

  const conversationsOf = async (channelId: unknown) =>
    ((await api('GET', `/v1.0/conversations?channel_id=${channelId as string}`)).result as { id: string; peer: string; self: string }[]) ?? [];
  const messagesOf = async (conversationId: string): Promise<ConversationMessage[]> =>
    ((await api('GET', `/v1.0/conversations/${conversationId}/messages?page_size=100`)).result as ConversationMessage[]).reverse();
  const smsTo = (peer: string) => sms.requests.filter((request) => request.form.To === peer);
  const aicallsOf = async (conversationId: string) =>
    ((await api('GET', `/v1.0/aicalls?reference_type=conversation&reference_id=${conversationId}`)).result as { id: string; status: string }[]) ?? [];

  /** An assistant that saves names, looks things up and reads the flow's variables, answering from the whole conversation. */
  const frontDesk = (turn: LlmTurn) => {
    const users = turn.conversation.filter((message) => message.role === 'user').map((message) => String(message.content));
    const name = users.map((text) => /my name is (\w+)/i.exec(text)?.[1]).find(Boolean);
    const last = turn.last;
    if (last?.role === 'tool') {
      const result = turn.toolResult ?? {};
      const called = turn.conversation.at(-2)?.tool_calls?.[0]?.function.name;
      if (called === 'set_variables') return { text: `Nice to meet you, ${name}. I noted your name.` };
      if (called === 'search_knowledge') return { text: JSON.stringify(result).includes('nine') ? 'We open at nine on weekdays.' : 'I could not find that.' };
      if (called === 'get_variables') {
        const variables = (result.data ?? {}) as Record<string, string>;
        return { text: `Your name is ${name}, and you are texting from ${variables['voipbin.conversation_message.source']}.` };
      }
      return { text: 'Done.' };
    }
    if (/my name is/i.test(turn.lastUser)) return { toolCalls: [{ name: 'set_variables', arguments: { variables: { customer_name: name } } }] };
    if (/open/i.test(turn.lastUser)) return { toolCalls: [{ name: 'search_knowledge', arguments: { query: 'opening hours' } }] };
    if (/what is my name/i.test(turn.lastUser)) return { toolCalls: [{ name: 'get_variables', arguments: {} }] };
    if (/bye/i.test(turn.lastUser)) return { text: 'Goodbye!', toolCalls: [{ name: 'stop_service', arguments: {} }] };
    return { text: `You said: ${turn.lastUser}` };
  };

  it('an SMS customer has a three-message conversation with context; the replies reach the SMS API', async () => {
    const model = `desk-${randomUUID().slice(0, 8)}`;
    llm.script(model, frontDesk);
    const knowledgebase = await api('POST', '/v1.0/knowledgebases', { name: 'hours', detail: 'opening hours', language: 'en-US' });
    await api('POST', `/v1.0/knowledgebases/${knowledgebase.id as string}/documents`, { name: 'hours.txt', content: 'We open at nine on weekdays and close at six.', source: 'manual' });
    const { number, channel } = await smsSetup(model, ['set_variables', 'get_variables', 'search_knowledge', 'stop_service', 'connect_call'], {
      knowledgebase_ids: [knowledgebase.id],
    });
    const peer = '+15557001001';

    expect(await textIn(channel, peer, number, 'Hi, my name is Ada')).toBe(200);
    await eventually(() => smsTo(peer).length === 1, 'the first reply');
    expect(await textIn(channel, peer, number, 'When are you open?')).toBe(200);
    await eventually(() => smsTo(peer).length === 2, 'the second reply');
    expect(await textIn(channel, peer, number, 'What is my name?')).toBe(200);
    await eventually(() => smsTo(peer).length === 3, 'the third reply');

    expect(smsTo(peer).map((request) => request.form)).toEqual([
      { To: peer, From: number, Body: 'Nice to meet you, Ada. I noted your name.' },
      { To: peer, From: number, Body: 'We open at nine on weekdays.' },
      { To: peer, From: number, Body: `Your name is Ada, and you are texting from ${peer}.` },
    ]);
    expect(smsTo(peer)[0]!.authorization).toBe(`Basic ${Buffer.from('ACe2e:twilio-secret').toString('base64')}`);

    // One conversation, both ways, every reply delivered; one AIcall served all three messages.
    const [conversation] = await conversationsOf(channel.id);
    expect(conversation).toMatchObject({ self: number, peer });
    await eventually(async () => {
      const all = await messagesOf(conversation!.id);
      return all.length === 6 && all.every((message) => message.delivery_status !== 'pending');
    }, 'the delivery statuses');
    const messages = await messagesOf(conversation!.id);
    expect(messages.map((message) => [message.direction, message.delivery_status])).toEqual([
      ['incoming', 'received'],
      ['outgoing', 'delivered'],
      ['incoming', 'received'],
      ['outgoing', 'delivered'],
      ['incoming', 'received'],
      ['outgoing', 'delivered'],
    ]);
    const aicalls = await aicallsOf(conversation!.id);
    expect(aicalls).toHaveLength(1);
    expect(aicalls[0]!.status).toBe('progressing');
    expect(new Set(messages.filter((message) => message.direction === 'outgoing').map((message) => message.aicall_id))).toEqual(new Set([aicalls[0]!.id]));
    // Voice-only tools are not offered in a chat, and the AIcall says so.
    for (const request of llm.requests(model)) expect(request.tools).not.toContain('connect_call');
    const notes = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicalls[0]!.id}&page_size=100`)).result as { role: string; content: string }[]).filter(
      (message) => message.role === 'notification',
    );
    expect(notes.map((message) => message.content)).toEqual(['Not offered in a text conversation (they work in phone calls only): connect_call.']);
  });

  it('a bad signature is a 401 and stores nothing; a provider retry of the same MessageSid is taken once', async () => {
    const model = `sig-${randomUUID().slice(0, 8)}`;
    llm.script(model, (turn) => ({ text: `Got: ${turn.lastUser}` }));
    const { number, channel } = await smsSetup(model);
    const peer = '+15557001002';
    expect(await textIn(channel, peer, number, 'forged', { token: 'not-the-token' })).toBe(401);
    expect(await conversationsOf(channel.id)).toEqual([]);
    const sid = `SM${randomUUID().replaceAll('-', '')}`;
    expect(await textIn(channel, peer, number, 'hello once', { sid })).toBe(200);
    expect(await textIn(channel, peer, number, 'hello once', { sid })).toBe(200);
    await eventually(() => smsTo(peer).length === 1, 'the reply');
    await stack.aiManager.sessions.text.idle();
    const [conversation] = await conversationsOf(channel.id);
    expect((await messagesOf(conversation!.id)).map((message) => message.text)).toEqual(['hello once', 'Got: hello once']);
    expect(llm.requests(model)).toHaveLength(1);
  });

  it('two messages 100 ms apart get exactly one reply, to the second', async () => {
    const model = `burst-${randomUUID().slice(0, 8)}`;
    llm.script(model, (turn) => ({ text: `Reply to: ${turn.lastUser}`, delayMs: 200 }));
    const { number, channel } = await smsSetup(model);
    const peer = '+15557001003';
    expect(await textIn(channel, peer, number, 'first')).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await textIn(channel, peer, number, 'second')).toBe(200);
    await eventually(() => llm.requests(model).length === 2, 'both messages to reach the LLM');
    await eventually(() => smsTo(peer).length >= 1, 'a reply');
    await stack.aiManager.sessions.text.idle();
    expect(smsTo(peer).map((request) => request.form.Body)).toEqual(['Reply to: second']);
  });

  it('after stop_service the next message starts a new AIcall; an idle AIcall expires', async () => {
    const model = `stop-${randomUUID().slice(0, 8)}`;
    llm.script(model, frontDesk);
    const { number, channel } = await smsSetup(model, ['stop_service']);
    const peer = '+15557001004';
    await textIn(channel, peer, number, 'hello');
    await eventually(() => smsTo(peer).length === 1, 'the first reply');
    await textIn(channel, peer, number, 'bye now');
    await eventually(() => smsTo(peer).length === 2, 'the goodbye');
    expect(smsTo(peer)[1]!.form.Body).toBe('Goodbye!');
    const [conversation] = await conversationsOf(channel.id);
    await eventually(async () => (await aicallsOf(conversation!.id)).every((aicall) => aicall.status === 'terminated'), 'the AIcall to end');

    await textIn(channel, peer, number, 'hello again');
    await eventually(() => smsTo(peer).length === 3, 'a reply from a new AIcall');
    let aicalls = await aicallsOf(conversation!.id);
    expect(aicalls).toHaveLength(2);
    const second = aicalls.find((aicall) => aicall.status === 'progressing')!;
    // The new AIcall starts a fresh history: the LLM does not see the earlier session.
    expect(llm.requests(model).at(-1)!.conversation.map((message) => message.content)).toEqual(['hello again']);

    // A day passes without a message: the sweep ends the AIcall, and the next message starts another.
    clockAheadMs = 25 * 3_600_000;
    try {
      expect(await stack.aiManager.sessions.text.expireIdle()).toBeGreaterThanOrEqual(1);
      expect((await api('GET', `/v1.0/aicalls/${second.id}`)).status).toBe('terminated');
      await textIn(channel, peer, number, 'anyone there?');
      await eventually(() => smsTo(peer).length === 4, 'a reply after the idle expiry');
      aicalls = await aicallsOf(conversation!.id);
      expect(aicalls.filter((aicall) => aicall.status === 'progressing')).toHaveLength(1);
      expect(aicalls).toHaveLength(3);
    } finally {
      clockAheadMs = 0;
    }
  });

  it('a LINE conversation: a signed webhook is answered through the reply API; a bad signature is a 401', async () => {
    const model = `line-${randomUUID().slice(0, 8)}`;
    // Answers with the message and how many the conversation has had: context across messages.
    llm.script(model, (turn) => ({ text: `LINE says: ${String(turn.last?.content)} (${turn.conversation.filter((message) => message.role === 'user').length})` }));
    const ai = await api('POST', '/v1.0/ais', { name: 'line-bot', engine_model: `openai.${model}` });
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: ai.id } }] });
    const channel = await api('POST', '/v1.0/conversation_channels', {
      type: 'line',
      name: 'line',
      flow_id: flow.id,
      api_base_url: line.url,
      channel_secret: 'line-secret',
      channel_access_token: 'line-token',
    });
    const userId = `U${randomUUID().replaceAll('-', '')}`;
    const post = async (text: string, secret: string) => {
      const body = JSON.stringify({
        destination: `U${'0'.repeat(32)}`,
        events: [
          {
            type: 'message',
            mode: 'active',
            timestamp: Date.now(),
            webhookEventId: randomUUID(),
            deliveryContext: { isRedelivery: false },
            source: { type: 'user', userId },
            replyToken: `reply-${randomUUID()}`,
            message: { id: `${Date.now()}${Math.floor(Math.random() * 1000)}`, type: 'text', text, quoteToken: 'q' },
          },
        ],
      });
      const response = await stack.app.inject({
        method: 'POST',
        url: `/v1.0/conversation_channels/${channel.id as string}/webhook`,
        headers: { 'content-type': 'application/json', 'x-line-signature': signLine(body, secret) },
        payload: body,
      });
      return response.statusCode;
    };
    expect(await post('forged', 'wrong-secret')).toBe(401);
    expect(await conversationsOf(channel.id)).toEqual([]);
    const replies = () => line.requests.filter((request) => JSON.stringify(request.body).includes('LINE says'));
    for (const [index, text] of ['Hello LINE', 'Second one', 'Third one'].entries()) {
      expect(await post(text, 'line-secret')).toBe(200);
      await eventually(() => replies().length === index + 1, `reply ${index + 1}`);
    }
    expect(replies().map((request) => [request.kind, request.body.messages])).toEqual([
      ['reply', [{ type: 'text', text: 'LINE says: Hello LINE (1)' }]],
      ['reply', [{ type: 'text', text: 'LINE says: Second one (2)' }]],
      ['reply', [{ type: 'text', text: 'LINE says: Third one (3)' }]],
    ]);
    expect(replies()[0]!.headers.authorization).toBe('Bearer line-token');
    const conversations = await conversationsOf(channel.id);
    expect(conversations).toHaveLength(1);
    expect(conversations[0]!.peer).toBe(userId);
    expect((await messagesOf(conversations[0]!.id)).map((message) => message.text)).toEqual([
      'Hello LINE',
      'LINE says: Hello LINE (1)',
      'Second one',
      'LINE says: Second one (2)',
      'Third one',
      'LINE says: Third one (3)',
    ]);
    expect(await aicallsOf(conversations[0]!.id)).toHaveLength(1);
  });
});
