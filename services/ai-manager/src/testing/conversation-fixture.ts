import { randomUUID } from 'node:crypto';
import { createDatabase, type Database, type Subscription } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure } from '@avp/shared/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import type { AiManager } from '../app.ts';
import type { FlowStartRequest } from '../conversations/flow-starts.ts';
import { call, createTestCustomer, eventually, startHarness, type Harness } from './harness.ts';
import { signLine, signTwilio, startFakeLineApi, startFakeSmsApi, type FakeLineApi, type FakeSmsApi } from './messaging-fakes.ts';

export const publicUrl = 'https://hooks.example.test';
export const authToken = 'twilio-token-NEVER-SHOWN-123';
export const channelSecret = 'line-secret-NEVER-SHOWN-456';
export const channelAccessToken = 'line-access-NEVER-SHOWN-789';

/** What ai-manager asked flow-manager's stand-in to run for an inbound message. */
export type FlowStart = FlowStartRequest;

export interface Channel {
  id: string;
  webhook_url: string;
}

/**
 * The world of a conversations test file, on PostgreSQL: ai-manager (harness), fake SMS and
 * LINE APIs (they sign with node:crypto, apart from the code under test), a flow-manager
 * stand-in on the bus that records the message flows asked of it (and can be "away"), and two
 * customers. Registers its own beforeAll/afterAll; without PostgreSQL, `ready` skips.
 */
export class ConversationFixture {
  database: Database | undefined;
  harness!: Harness;
  service!: AiManager;
  sms!: FakeSmsApi;
  line!: FakeLineApi;
  owner!: { id: string; key: string };
  stranger!: { id: string; key: string };
  smsChannel!: Channel;
  lineChannel!: Channel;
  readonly flowStarts: FlowStart[] = [];
  /** flow-manager answers this many starts with 503 first (it is "away"). */
  flowManagerAwayFor = 0;
  readonly lineFlowId = randomUUID();
  private flowManager: Subscription | undefined;
  private cleanup = async (): Promise<void> => undefined;

  async start(): Promise<void> {
    const postgres = await findInfrastructure('postgres');
    if (!postgres.available) return;
    const test = await createTestPostgresDatabase({ adminUrl: postgres.url });
    const database = await createDatabase(test.options);
    this.database = database;
    this.cleanup = async () => {
      await database.close();
      await test.drop();
      await postgres.stop();
    };
    this.harness = await startHarness(database, { publicUrl, conversations: { flowStarts: { retryBaseMs: 20 } } });
    this.service = this.harness.service as AiManager;
    this.sms = await startFakeSmsApi('SM-sent-1');
    this.line = await startFakeLineApi();
    this.flowManager = await this.harness.bus.serve('flow-manager', async (request) => {
      if (request.method === 'POST' && request.uri === '/v1/conversation_messages') {
        if (this.flowManagerAwayFor > 0) {
          this.flowManagerAwayFor--;
          return { status_code: 503, data: { error: { status: 'UNAVAILABLE', reason: 'UNAVAILABLE', message: 'away' } } };
        }
        this.flowStarts.push(request.data as FlowStart);
        return { status_code: 200, data: { id: (request.data as FlowStart).message_id, activeflow: { id: randomUUID() } } };
      }
      // The channels' flow_id check: every flow is the caller's here.
      if (request.method === 'GET' && request.uri.startsWith('/v1/flows/')) return { status_code: 200, data: { id: request.uri.split(/[/?]/)[3] } };
      return { status_code: 404, data: {} };
    });
    this.owner = await createTestCustomer(this.harness, 'owner');
    this.stranger = await createTestCustomer(this.harness, 'stranger');
  }

  async stop(): Promise<void> {
    await this.flowManager?.close();
    await this.harness?.stop();
    await this.sms?.close();
    await this.line?.close();
    await this.cleanup();
  }

  /** Skips a test when there is no PostgreSQL. */
  ready = (context: { skip: () => void }): void => {
    if (!this.database) context.skip();
  };

  /** The owner's SMS and LINE channels, pointed at the fake vendor APIs. */
  async createChannels(): Promise<void> {
    const created = await call(this.harness, 'POST', '/v1.0/conversation_channels', {
      key: this.owner.key,
      body: { type: 'sms', name: 'support line', account_sid: 'AC-owner', auth_token: authToken, api_base_url: this.sms.url },
    });
    this.smsChannel = created.body as unknown as Channel;
    const lineCreated = await call(this.harness, 'POST', '/v1.0/conversation_channels', {
      key: this.owner.key,
      body: { type: 'line', flow_id: this.lineFlowId, channel_secret: channelSecret, channel_access_token: channelAccessToken, api_base_url: this.line.url },
    });
    this.lineChannel = lineCreated.body as unknown as Channel;
  }

  noSecrets = (body: unknown): void => {
    const text = JSON.stringify(body);
    for (const secret of [authToken, channelSecret, channelAccessToken]) expect(text).not.toContain(secret);
  };

  postSms = (channelId: string, params: Record<string, string>, signature?: string) =>
    this.harness.app.inject({
      method: 'POST',
      url: `/v1.0/conversation_channels/${channelId}/webhook`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature !== undefined ? { 'x-twilio-signature': signature } : {}) },
      payload: new URLSearchParams(params).toString(),
    });

  /** A message from `params` to the SMS channel, signed as the vendor signs it. */
  signedSms = (params: Record<string, string>) => this.postSms(this.smsChannel.id, params, signTwilio(this.smsChannel.webhook_url, params, authToken));

  postLine = (channelId: string, body: string, signature?: string) =>
    this.harness.app.inject({
      method: 'POST',
      url: `/v1.0/conversation_channels/${channelId}/webhook`,
      headers: { 'content-type': 'application/json', ...(signature !== undefined ? { 'x-line-signature': signature } : {}) },
      payload: body,
    });

  smsParams = (overrides: Record<string, string> = {}): Record<string, string> => ({
    MessageSid: `SM${randomUUID().replace(/-/g, '')}`,
    AccountSid: 'AC-owner',
    From: '+15550001111',
    To: '+15550002222',
    Body: 'hello from sms',
    NumMedia: '0',
    ...overrides,
  });

  lineText = (overrides: Record<string, unknown> = {}) => ({
    type: 'message',
    mode: 'active',
    timestamp: Date.now(),
    webhookEventId: randomUUID(),
    replyToken: `reply-${randomUUID()}`,
    source: { type: 'user', userId: 'U-peer-1' },
    message: { type: 'text', id: `${Date.now()}${Math.floor(Math.random() * 1e6)}`, text: 'hello from line', quoteToken: 'q' },
    ...overrides,
  });

  signedLine = async (events: unknown[], secret = channelSecret) => {
    const body = JSON.stringify({ destination: 'U-bot-self', events });
    return this.postLine(this.lineChannel.id, body, signLine(body, secret));
  };

  conversationsOf = async (channelId: string) =>
    (await call(this.harness, 'GET', `/v1.0/conversations?channel_id=${channelId}`, { key: this.owner.key })).body.result as { id: string; peer: string; self: string }[];

  messagesOf = async (conversationId: string) =>
    (await call(this.harness, 'GET', `/v1.0/conversations/${conversationId}/messages`, { key: this.owner.key })).body.result as Record<string, unknown>[];

  eventsOf = (type: string, id?: string) => this.harness.events.filter((event) => event.type === type && (!id || (event.data as { id?: string }).id === id));

  /** Waits for `read` to give a value (the harness's poll). */
  eventually = eventually;
}

/** A {@link ConversationFixture} started before the file's tests and stopped after them. */
export function useConversationFixture(): ConversationFixture {
  const fixture = new ConversationFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());
  return fixture;
}
