import { randomUUID } from 'node:crypto';
import { createDatabase, isAppError, type Database, type Subscription } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure } from '@avp/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AiManager } from '../app.ts';
import { call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';
import { signLine, signTwilio, startFakeLineApi, startFakeSmsApi, type FakeLineApi, type FakeSmsApi } from '../testing/messaging-fakes.ts';

const publicUrl = 'https://hooks.example.test';
const authToken = 'twilio-token-NEVER-SHOWN-123';
const channelSecret = 'line-secret-NEVER-SHOWN-456';
const channelAccessToken = 'line-access-NEVER-SHOWN-789';

interface FlowStart {
  customer_id: string;
  conversation_id: string;
  message_id: string;
  source: string;
  destination: string;
  text: string;
  flow_id?: string;
}

/**
 * Conversations over SMS and LINE on PostgreSQL: channels with write-only credentials, the
 * vendors' signed webhooks (fakes sign with node:crypto, apart from the code under test), the
 * message flow asked of a flow-manager stand-in on the bus, and replies through fake vendor APIs.
 */
describe('conversations (SMS and LINE)', () => {
  let database: Database | undefined;
  let cleanup = async (): Promise<void> => undefined;
  let harness: Harness;
  let service: AiManager;
  let sms: FakeSmsApi;
  let line: FakeLineApi;
  let flowManager: Subscription;
  const flowStarts: FlowStart[] = [];
  /** flow-manager answers this many starts with 503 first (it is "away"). */
  let flowManagerAwayFor = 0;
  let owner: { id: string; key: string };
  let stranger: { id: string; key: string };
  let smsChannel: { id: string; webhook_url: string };
  let lineChannel: { id: string; webhook_url: string };
  const lineFlowId = randomUUID();

  beforeAll(async () => {
    const postgres = await findInfrastructure('postgres');
    if (!postgres.available) return;
    const test = await createTestPostgresDatabase({ adminUrl: postgres.url });
    database = await createDatabase(test.options);
    cleanup = async () => {
      await database?.close();
      await test.drop();
      await postgres.stop();
    };
    harness = await startHarness(database, { publicUrl, conversations: { flowStarts: { retryBaseMs: 20 } } });
    service = harness.service as AiManager;
    sms = await startFakeSmsApi('SM-sent-1');
    line = await startFakeLineApi();
    flowManager = await harness.bus.serve('flow-manager', async (request) => {
      if (request.method === 'POST' && request.uri === '/v1/conversation_messages') {
        if (flowManagerAwayFor > 0) {
          flowManagerAwayFor--;
          return { status_code: 503, data: { error: { status: 'UNAVAILABLE', reason: 'UNAVAILABLE', message: 'away' } } };
        }
        flowStarts.push(request.data as FlowStart);
        return { status_code: 200, data: { id: (request.data as FlowStart).message_id, activeflow: { id: randomUUID() } } };
      }
      // The channels' flow_id check: every flow is the caller's here.
      if (request.method === 'GET' && request.uri.startsWith('/v1/flows/')) return { status_code: 200, data: { id: request.uri.split(/[/?]/)[3] } };
      return { status_code: 404, data: {} };
    });
    owner = await createTestCustomer(harness, 'owner');
    stranger = await createTestCustomer(harness, 'stranger');
  });

  afterAll(async () => {
    await flowManager?.close();
    await harness?.stop();
    await sms?.close();
    await line?.close();
    await cleanup();
  });

  const ready = (context: { skip: () => void }) => {
    if (!database) context.skip();
  };
  const noSecrets = (body: unknown) => {
    const text = JSON.stringify(body);
    for (const secret of [authToken, channelSecret, channelAccessToken]) expect(text).not.toContain(secret);
  };
  const postSms = (channelId: string, params: Record<string, string>, signature?: string) =>
    harness.app.inject({
      method: 'POST',
      url: `/v1.0/conversation_channels/${channelId}/webhook`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}) },
      payload: new URLSearchParams(params).toString(),
    });
  const postLine = (channelId: string, body: string, signature?: string) =>
    harness.app.inject({
      method: 'POST',
      url: `/v1.0/conversation_channels/${channelId}/webhook`,
      headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-line-signature': signature } : {}) },
      payload: body,
    });
  const smsParams = (overrides: Record<string, string> = {}) => ({
    MessageSid: `SM${randomUUID().replace(/-/g, '')}`,
    AccountSid: 'AC-owner',
    From: '+15550001111',
    To: '+15550002222',
    Body: 'hello from sms',
    NumMedia: '0',
    ...overrides,
  });
  const lineText = (overrides: Record<string, unknown> = {}) => ({
    type: 'message',
    mode: 'active',
    timestamp: Date.now(),
    webhookEventId: randomUUID(),
    replyToken: `reply-${randomUUID()}`,
    source: { type: 'user', userId: 'U-peer-1' },
    message: { type: 'text', id: `${Date.now()}${Math.floor(Math.random() * 1e6)}`, text: 'hello from line', quoteToken: 'q' },
    ...overrides,
  });
  const signedLine = async (events: unknown[], secret = channelSecret) => {
    const body = JSON.stringify({ destination: 'U-bot-self', events });
    return postLine(lineChannel.id, body, signLine(body, secret));
  };
  const conversationsOf = async (channelId: string) => (await call(harness, 'GET', `/v1.0/conversations?channel_id=${channelId}`, { key: owner.key })).body.result as { id: string; peer: string; self: string }[];
  const messagesOf = async (conversationId: string) =>
    (await call(harness, 'GET', `/v1.0/conversations/${conversationId}/messages`, { key: owner.key })).body.result as Record<string, unknown>[];
  const eventsOf = (type: string, id?: string) => harness.events.filter((event) => event.type === type && (!id || (event.data as { id?: string }).id === id));

  describe('channels', () => {
    it('creates channels with write-only credentials, defaults and the webhook URL', async (context) => {
      ready(context);
      const created = await call(harness, 'POST', '/v1.0/conversation_channels', {
        key: owner.key,
        body: { type: 'sms', name: 'support line', account_sid: 'AC-owner', auth_token: authToken, api_base_url: sms.url },
      });
      expect(created.status).toBe(200);
      noSecrets(created.body);
      expect(created.body).toMatchObject({ type: 'sms', name: 'support line', account_sid: 'AC-owner', auth_token_set: true, channel_secret_set: false, flow_id: null, api_base_url: sms.url });
      expect(created.body.webhook_url).toBe(`${publicUrl}/v1.0/conversation_channels/${created.body.id}/webhook`);
      expect(created.body).not.toHaveProperty('auth_token');
      smsChannel = created.body;
      await eventually(() => eventsOf('conversation_channel_created', smsChannel.id).length === 1);

      const lineCreated = await call(harness, 'POST', '/v1.0/conversation_channels', {
        key: owner.key,
        body: { type: 'line', flow_id: lineFlowId, channel_secret: channelSecret, channel_access_token: channelAccessToken, api_base_url: line.url },
      });
      expect(lineCreated.status).toBe(200);
      noSecrets(lineCreated.body);
      expect(lineCreated.body).toMatchObject({ type: 'line', flow_id: lineFlowId, channel_secret_set: true, channel_access_token_set: true, auth_token_set: false });
      lineChannel = lineCreated.body;

      const defaults = await call(harness, 'POST', '/v1.0/conversation_channels', { key: owner.key, body: { type: 'sms' } });
      expect(defaults.body).toMatchObject({ api_base_url: 'https://api.twilio.com', auth_token_set: false });
      const lineDefaults = await call(harness, 'POST', '/v1.0/conversation_channels', { key: owner.key, body: { type: 'line', flow_id: lineFlowId } });
      expect(lineDefaults.body.api_base_url).toBe('https://api.line.me');
    });

    it('refuses what could never work: an internal api_base_url, a line channel without flow, the other vendor\'s fields', async (context) => {
      ready(context);
      const refuse = async (body: Record<string, unknown>, problem: RegExp) => {
        const response = await call(harness, 'POST', '/v1.0/conversation_channels', { key: owner.key, body });
        expect(response.status).toBe(400);
        expect(response.body.error.message).toMatch(problem);
      };
      await refuse({ type: 'sms', api_base_url: 'http://10.1.2.3' }, /api_base_url.*internal/);
      await refuse({ type: 'sms', api_base_url: 'http://169.254.169.254/latest' }, /api_base_url/);
      await refuse({ type: 'line', channel_secret: 's' }, /flow_id/);
      await refuse({ type: 'sms', channel_secret: 's' }, /channel_secret/);
      await refuse({ type: 'email' }, /type/);
    });

    it('reads, lists, replaces (keeping secrets left out) and deletes, only for the owner', async (context) => {
      ready(context);
      const extra = (await call(harness, 'POST', '/v1.0/conversation_channels', { key: owner.key, body: { type: 'sms', auth_token: authToken, account_sid: 'AC-x' } })).body;
      const got = await call(harness, 'GET', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key });
      expect(got.body).toMatchObject({ id: extra.id, auth_token_set: true });
      const list = await call(harness, 'GET', '/v1.0/conversation_channels', { key: owner.key });
      expect(list.body.result.map((channel: { id: string }) => channel.id)).toEqual(expect.arrayContaining([extra.id, smsChannel.id, lineChannel.id]));
      noSecrets(list.body);

      const renamed = await call(harness, 'PUT', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key, body: { type: 'sms', name: 'renamed' } });
      expect(renamed.body).toMatchObject({ name: 'renamed', auth_token_set: true, account_sid: 'AC-x' });
      const cleared = await call(harness, 'PUT', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key, body: { type: 'sms', name: 'renamed', auth_token: '' } });
      expect(cleared.body.auth_token_set).toBe(false);
      const retyped = await call(harness, 'PUT', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key, body: { type: 'line', flow_id: lineFlowId } });
      expect(retyped.status).toBe(400);

      for (const [method, body] of [['GET', undefined], ['PUT', { type: 'sms', name: 'stolen' }], ['DELETE', undefined]] as const) {
        const foreign = await call(harness, method, `/v1.0/conversation_channels/${extra.id}`, { key: stranger.key, ...(body ? { body } : {}) });
        expect(foreign.status, method).toBe(404);
        expect(foreign.body.error.reason).toBe('RESOURCE_NOT_FOUND');
      }
      expect((await call(harness, 'GET', '/v1.0/conversation_channels', { key: stranger.key })).body.result).toEqual([]);
      expect((await call(harness, 'GET', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key })).body.name).toBe('renamed');

      const deleted = await call(harness, 'DELETE', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key });
      expect(deleted.body.tm_delete).not.toBeNull();
      expect((await call(harness, 'GET', `/v1.0/conversation_channels/${extra.id}`, { key: owner.key })).status).toBe(404);
      await eventually(() => eventsOf('conversation_channel_updated', extra.id).length === 2 && eventsOf('conversation_channel_deleted', extra.id).length === 1);
      // A deleted channel's webhook takes nothing.
      const params = smsParams();
      expect((await postSms(extra.id, params, signTwilio(`${publicUrl}/v1.0/conversation_channels/${extra.id}/webhook`, params, authToken))).statusCode).toBe(404);
    });
  });

  describe('SMS webhook', () => {
    it('stores a signed message in a new conversation, emits events and asks flow-manager for the number\'s flow', async (context) => {
      ready(context);
      const params = smsParams();
      const response = await postSms(smsChannel.id, params, signTwilio(smsChannel.webhook_url, params, authToken));
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/xml/);
      expect(response.body).toContain('<Response/>');

      const [conversation] = await conversationsOf(smsChannel.id);
      expect(conversation).toMatchObject({ customer_id: owner.id, channel_id: smsChannel.id, type: 'sms', self: '+15550002222', peer: '+15550001111', status: 'open' });
      const messages = await messagesOf(conversation!.id);
      expect(messages).toEqual([
        expect.objectContaining({ direction: 'incoming', text: 'hello from sms', provider_message_id: params.MessageSid, delivery_status: 'received', aicall_id: null, conversation_id: conversation!.id }),
      ]);
      expect(messages[0]).not.toHaveProperty('reply_token');
      const start = await eventually(() => flowStarts.find((entry) => entry.message_id === messages[0]!.id));
      expect(start).toEqual({ customer_id: owner.id, conversation_id: conversation!.id, message_id: messages[0]!.id, source: '+15550001111', destination: '+15550002222', text: 'hello from sms' });
      await eventually(() => eventsOf('conversation_created', conversation!.id).length === 1 && eventsOf('message_created', messages[0]!.id as string).length === 1);

      // The same contact again: the same conversation, updated.
      const again = smsParams({ Body: 'second' });
      expect((await postSms(smsChannel.id, again, signTwilio(smsChannel.webhook_url, again, authToken))).statusCode).toBe(200);
      expect(await conversationsOf(smsChannel.id)).toHaveLength(1);
      expect((await messagesOf(conversation!.id)).map((message) => message.text)).toEqual(['second', 'hello from sms']);
      await eventually(() => eventsOf('conversation_updated', conversation!.id).length === 1);
    });

    it('refuses a missing or bad signature with 401 and stores nothing', async (context) => {
      ready(context);
      const before = { conversations: (await conversationsOf(smsChannel.id)).length, starts: flowStarts.length };
      const params = smsParams({ From: '+15559990000' });
      const cases = [
        undefined,
        '',
        signTwilio(smsChannel.webhook_url, params, 'wrong-token'),
        signTwilio(smsChannel.webhook_url, { ...params, Body: 'other text' }, authToken),
        signTwilio(`http://127.0.0.1/v1.0/conversation_channels/${smsChannel.id}/webhook`, params, authToken),
      ];
      for (const signature of cases) {
        const response = await postSms(smsChannel.id, params, signature);
        expect(response.statusCode).toBe(401);
        expect(response.json()).toMatchObject({ error: { reason: 'INVALID_SIGNATURE', status: 'UNAUTHENTICATED' } });
      }
      await service.conversations.flowStarts.idle();
      expect((await conversationsOf(smsChannel.id)).length).toBe(before.conversations);
      expect(flowStarts.length).toBe(before.starts);
    });

    it('accepts a MessageSid delivered twice once', async (context) => {
      ready(context);
      const params = smsParams({ From: '+15558880000', Body: 'only once' });
      const signature = signTwilio(smsChannel.webhook_url, params, authToken);
      expect((await postSms(smsChannel.id, params, signature)).statusCode).toBe(200);
      expect((await postSms(smsChannel.id, params, signature)).statusCode).toBe(200);
      await service.conversations.flowStarts.idle();
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15558880000')!;
      expect(await messagesOf(conversation.id)).toHaveLength(1);
      expect(flowStarts.filter((entry) => entry.text === 'only once')).toHaveLength(1);
    });

    it('answers 400 for a bad body under a good signature', async (context) => {
      ready(context);
      const { MessageSid: _omitted, ...params } = smsParams({ From: '+15557770000' });
      const response = await postSms(smsChannel.id, params, signTwilio(smsChannel.webhook_url, params, authToken));
      expect(response.statusCode).toBe(400);
      expect((await conversationsOf(smsChannel.id)).some((entry) => entry.peer === '+15557770000')).toBe(false);
    });

    it('retries the flow start in the background while flow-manager is away; the message is stored first', async (context) => {
      ready(context);
      flowManagerAwayFor = 2;
      const params = smsParams({ From: '+15556660000', Body: 'while away' });
      expect((await postSms(smsChannel.id, params, signTwilio(smsChannel.webhook_url, params, authToken))).statusCode).toBe(200);
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15556660000')!;
      expect(await messagesOf(conversation.id)).toHaveLength(1);
      await eventually(() => flowStarts.find((entry) => entry.text === 'while away'));
      expect(flowManagerAwayFor).toBe(0);
    });
  });

  describe('LINE webhook', () => {
    it('answers LINE\'s URL check (no events) and refuses bad signatures', async (context) => {
      ready(context);
      expect((await signedLine([])).statusCode).toBe(200);
      const body = JSON.stringify({ destination: 'U-bot-self', events: [lineText({ source: { type: 'user', userId: 'U-forger' } })] });
      for (const signature of [undefined, signLine(body, 'wrong-secret'), signLine(`${body} `, channelSecret)]) {
        const response = await postLine(lineChannel.id, body, signature);
        expect(response.statusCode).toBe(401);
        expect(response.json().error.reason).toBe('INVALID_SIGNATURE');
      }
      expect((await conversationsOf(lineChannel.id)).some((entry) => entry.peer === 'U-forger')).toBe(false);
    });

    it('takes text messages (user and group sources) and runs the channel\'s flow; ignores other events', async (context) => {
      ready(context);
      const event = lineText();
      const response = await signedLine([
        event,
        lineText({ source: { type: 'group', groupId: 'C-group-1', userId: 'U-member' }, message: { type: 'text', id: 'g-1', text: 'group hello' } }),
        lineText({ message: { type: 'image', id: 'img-1' } }),
        { type: 'follow', timestamp: Date.now(), source: { type: 'user', userId: 'U-peer-1' }, replyToken: 'r' },
        lineText({ mode: 'standby', message: { type: 'text', id: 'standby-1', text: 'not ours' } }),
      ]);
      expect(response.statusCode).toBe(200);
      const conversations = await conversationsOf(lineChannel.id);
      expect(conversations.map((entry) => entry.peer).sort()).toEqual(['C-group-1', 'U-peer-1']);
      const user = conversations.find((entry) => entry.peer === 'U-peer-1')!;
      expect(user).toMatchObject({ self: 'U-bot-self', type: 'line' });
      expect(await messagesOf(user.id)).toEqual([expect.objectContaining({ text: 'hello from line', provider_message_id: (event.message as { id: string }).id })]);
      const start = await eventually(() => flowStarts.find((entry) => entry.conversation_id === user.id));
      expect(start).toMatchObject({ flow_id: lineFlowId, source: 'U-peer-1', destination: 'U-bot-self', text: 'hello from line' });

      // Only non-text events: 200, nothing stored.
      expect((await signedLine([lineText({ message: { type: 'sticker', id: 's-1' } })])).statusCode).toBe(200);
      expect(await messagesOf(user.id)).toHaveLength(1);
      // A redelivery of the same message stores nothing.
      expect((await signedLine([event])).statusCode).toBe(200);
      expect(await messagesOf(user.id)).toHaveLength(1);
    });

    it('answers 400 for a bad body under a good signature', async (context) => {
      ready(context);
      for (const body of ['{not json', JSON.stringify({ events: [] }), JSON.stringify({ destination: 'U-bot-self', events: [lineText({ source: { type: 'user' } })] })]) {
        const response = await postLine(lineChannel.id, body, signLine(body, channelSecret));
        expect(response.statusCode, body).toBe(400);
      }
    });
  });

  describe('delivery', () => {
    it('sends over SMS to the contact from the own number and marks the message delivered', async (context) => {
      ready(context);
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15550001111')!;
      const aicallId = randomUUID();
      const message = await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'Hi, how can I help?', aicallId });
      expect(message).toMatchObject({ direction: 'outgoing', delivery_status: 'delivered', provider_message_id: 'SM-sent-1', delivery_error: '', aicall_id: aicallId, text: 'Hi, how can I help?' });
      const request = sms.requests.at(-1)!;
      expect(request.path).toBe('/2010-04-01/Accounts/AC-owner/Messages.json');
      expect(request.form).toEqual({ To: '+15550001111', From: '+15550002222', Body: 'Hi, how can I help?' });
      expect(request.authorization).toBe(`Basic ${Buffer.from(`AC-owner:${authToken}`).toString('base64')}`);
      await eventually(() => eventsOf('message_created', message.id).length === 1 && eventsOf('message_updated', message.id).length === 1);
      expect(eventsOf('message_created', message.id)[0]!.data).toMatchObject({ delivery_status: 'pending' });
      expect(eventsOf('message_updated', message.id)[0]!.data).toMatchObject({ delivery_status: 'delivered' });

      expect(await service.conversations.findMessage(owner.id, message.id)).toMatchObject({ id: message.id, delivery_status: 'delivered' });
      expect(await service.conversations.findMessage(stranger.id, message.id)).toBeUndefined();
      const foreign = await service.conversations.deliver({ customerId: stranger.id, conversationId: conversation.id, text: 'x' }).catch((error: unknown) => error);
      expect(isAppError(foreign) && foreign.reason).toBe('RESOURCE_NOT_FOUND');

      // A text over 1600 characters goes in parts.
      const before = sms.requests.length;
      await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'word '.repeat(400) });
      expect(sms.requests.slice(before).map((entry) => entry.form.Body!.length)).toEqual([1600, 400]);
    });

    it('marks a message the vendor refuses as failed, with the error', async (context) => {
      ready(context);
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15550001111')!;
      sms.failWith = 500;
      try {
        const message = await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'will fail' });
        expect(message.delivery_status).toBe('failed');
        expect(message.delivery_error).toMatch(/HTTP 500/);
        expect(message.delivery_error).not.toContain(authToken);
        await eventually(() => eventsOf('message_updated', message.id).length === 1);
      } finally {
        sms.failWith = undefined;
      }
    });

    it('replies over LINE with a fresh reply token, then pushes when it is used, expired or refused', async (context) => {
      ready(context);
      const event = lineText({ source: { type: 'user', userId: 'U-delivery' } });
      await signedLine([event]);
      const conversation = (await conversationsOf(lineChannel.id)).find((entry) => entry.peer === 'U-delivery')!;
      const before = line.requests.length;

      const replied = await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'first answer' });
      expect(replied.delivery_status).toBe('delivered');
      const reply = line.requests[before]!;
      expect(reply).toMatchObject({ kind: 'reply', body: { replyToken: event.replyToken, messages: [{ type: 'text', text: 'first answer' }] } });
      expect(reply.headers.authorization).toBe(`Bearer ${channelAccessToken}`);

      // The token is spent: a push to the contact, with a retry key.
      await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'second answer' });
      const push = line.requests[before + 1]!;
      expect(push).toMatchObject({ kind: 'push', body: { to: 'U-delivery', messages: [{ type: 'text', text: 'second answer' }] } });
      expect(push.headers['x-line-retry-key']).toMatch(/^[0-9a-f-]{36}$/);

      // A token older than 50 s is not used.
      const old = lineText({ source: { type: 'user', userId: 'U-delivery' } });
      await signedLine([old]);
      await sql`update ai_manager.conversation_messages set tm_create = tm_create - interval '60 seconds' where reply_token = ${old.replyToken}`.execute(database!.forSchema('ai_manager'));
      await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'late answer' });
      expect(line.requests.at(-1)).toMatchObject({ kind: 'push', body: { messages: [{ text: 'late answer' }] } });

      // LINE refuses the token: the same messages go once by push.
      const refusedEvent = lineText({ source: { type: 'user', userId: 'U-delivery' } });
      await signedLine([refusedEvent]);
      line.refuseReplyTokens = true;
      const count = line.requests.length;
      try {
        const fallback = await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'after refusal' });
        expect(fallback.delivery_status).toBe('delivered');
      } finally {
        line.refuseReplyTokens = false;
      }
      expect(line.requests.slice(count).map((entry) => [entry.kind, entry.body.replyToken ?? entry.body.to])).toEqual([
        ['reply', refusedEvent.replyToken],
        ['push', 'U-delivery'],
      ]);

      // Long text: 5000 UTF-16 units per message.
      const longCount = line.requests.length;
      await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'x'.repeat(12_000) });
      expect(line.requests.slice(longCount).map((entry) => entry.body.messages.map((message: { text: string }) => message.text.length))).toEqual([[5000, 5000, 2000]]);
    });

    it('marks a LINE failure as failed and never sends it again', async (context) => {
      ready(context);
      const conversation = (await conversationsOf(lineChannel.id)).find((entry) => entry.peer === 'U-delivery')!;
      line.failWith = 500;
      const count = line.requests.length;
      try {
        const message = await service.conversations.deliver({ customerId: owner.id, conversationId: conversation.id, text: 'broken' });
        expect(message).toMatchObject({ delivery_status: 'failed', delivery_error: expect.stringMatching(/LINE answered HTTP 500/) });
      } finally {
        line.failWith = undefined;
      }
      expect(line.requests.length - count).toBe(1);
    });

    it('lets an operator send through the API, only in their own conversations', async (context) => {
      ready(context);
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15550001111')!;
      const sent = await call(harness, 'POST', `/v1.0/conversations/${conversation.id}/messages`, { key: owner.key, body: { text: 'an operator here' } });
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ direction: 'outgoing', delivery_status: 'delivered', aicall_id: null, text: 'an operator here' });
      expect(sms.requests.at(-1)!.form).toMatchObject({ To: '+15550001111', Body: 'an operator here' });
      const newest = await messagesOf(conversation.id);
      expect(newest[0]).toMatchObject({ id: sent.body.id });
      expect(newest.some((message) => message.direction === 'incoming')).toBe(true);

      const smsCount = sms.requests.length;
      for (const [method, url, body] of [
        ['POST', `/v1.0/conversations/${conversation.id}/messages`, { text: 'not mine' }],
        ['GET', `/v1.0/conversations/${conversation.id}/messages`, undefined],
        ['GET', `/v1.0/conversations/${conversation.id}`, undefined],
      ] as const) {
        const foreign = await call(harness, method, url, { key: stranger.key, ...(body ? { body } : {}) });
        expect(foreign.status, `${method} ${url}`).toBe(404);
      }
      expect(sms.requests.length).toBe(smsCount);
      expect((await call(harness, 'GET', '/v1.0/conversations', { key: stranger.key })).body.result).toEqual([]);
      expect((await call(harness, 'POST', `/v1.0/conversations/${conversation.id}/messages`, { key: owner.key, body: { text: '' } })).status).toBe(400);
    });
  });
});
