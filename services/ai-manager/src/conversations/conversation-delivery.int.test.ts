import { randomUUID } from 'node:crypto';
import { isAppError, type Database } from '@avp/shared';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AiManager } from '../app.ts';
import { authToken, channelAccessToken, useConversationFixture, type Channel } from '../testing/conversation-fixture.ts';
import { call, eventually, type Harness } from '../testing/harness.ts';
import type { FakeLineApi, FakeSmsApi } from '../testing/messaging-fakes.ts';

/**
 * Replies in conversations on PostgreSQL, through fake vendor APIs: SMS from the own number
 * (in parts over 1600 characters), LINE by reply token while it is fresh and by push otherwise,
 * failures marked with the vendor's error and never sent again, and operators sending through
 * the API into their own conversations only.
 */
describe('conversations: delivery (SMS and LINE)', () => {
  const fixture = useConversationFixture();
  const { ready, smsParams, lineText, signedLine, conversationsOf, messagesOf, eventsOf } = fixture;
  let harness: Harness;
  let service: AiManager;
  let sms: FakeSmsApi;
  let line: FakeLineApi;
  let owner: { id: string; key: string };
  let stranger: { id: string; key: string };
  let smsChannel: Channel;
  let lineChannel: Channel;
  let database: Database | undefined;
  beforeAll(async () => {
    ({ harness, service, sms, line, owner, stranger, database } = fixture);
    if (!database) return;
    // The owner's channels, and a contact who wrote in over SMS.
    await fixture.createChannels();
    ({ smsChannel, lineChannel } = fixture);
    expect((await fixture.signedSms(smsParams({ From: '+15550001111' }))).statusCode).toBe(200);
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
