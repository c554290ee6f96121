import { beforeAll, describe, expect, it } from 'vitest';
import type { AiManager } from '../app.ts';
import { authToken, channelAccessToken, channelSecret, publicUrl, useConversationFixture, type Channel } from '../testing/conversation-fixture.ts';
import { call, eventually, type Harness } from '../testing/harness.ts';
import { signLine, signTwilio, type FakeLineApi, type FakeSmsApi } from '../testing/messaging-fakes.ts';

/**
 * Conversation channels and the vendors' signed webhooks on PostgreSQL: channels with
 * write-only credentials, SMS (Twilio-signed) and LINE webhooks storing messages and asking a
 * flow-manager stand-in for the number's message flow. Delivery of replies: conversation-delivery.int.test.ts.
 */
describe('conversations: channels and webhooks (SMS and LINE)', () => {
  const fixture = useConversationFixture();
  const { ready, noSecrets, postSms, postLine, smsParams, lineText, signedLine, conversationsOf, messagesOf, eventsOf, flowStarts, lineFlowId } = fixture;
  let harness: Harness;
  let service: AiManager;
  let sms: FakeSmsApi;
  let line: FakeLineApi;
  let owner: { id: string; key: string };
  let stranger: { id: string; key: string };
  let smsChannel: Channel;
  let lineChannel: Channel;
  beforeAll(() => {
    ({ harness, service, sms, line, owner, stranger } = fixture);
  });

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
      smsChannel = created.body as unknown as Channel;
      fixture.smsChannel = smsChannel;
      await eventually(() => eventsOf('conversation_channel_created', smsChannel.id).length === 1);

      const lineCreated = await call(harness, 'POST', '/v1.0/conversation_channels', {
        key: owner.key,
        body: { type: 'line', flow_id: lineFlowId, channel_secret: channelSecret, channel_access_token: channelAccessToken, api_base_url: line.url },
      });
      expect(lineCreated.status).toBe(200);
      noSecrets(lineCreated.body);
      expect(lineCreated.body).toMatchObject({ type: 'line', flow_id: lineFlowId, channel_secret_set: true, channel_access_token_set: true, auth_token_set: false });
      lineChannel = lineCreated.body as unknown as Channel;
      fixture.lineChannel = lineChannel;

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
      fixture.flowManagerAwayFor = 2;
      const params = smsParams({ From: '+15556660000', Body: 'while away' });
      expect((await postSms(smsChannel.id, params, signTwilio(smsChannel.webhook_url, params, authToken))).statusCode).toBe(200);
      const conversation = (await conversationsOf(smsChannel.id)).find((entry) => entry.peer === '+15556660000')!;
      expect(await messagesOf(conversation.id)).toHaveLength(1);
      await eventually(() => flowStarts.find((entry) => entry.text === 'while away'));
      expect(fixture.flowManagerAwayFor).toBe(0);
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

});
