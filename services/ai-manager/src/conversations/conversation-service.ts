import { newId, type Bus, type Conversation, type ConversationChannelType, type ConversationMessage, type ListQuery, type ListResponse, type Logger } from '@avp/shared';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { withEvents } from '../events/event-publisher.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { findChannelAnyState, type ChannelRow } from './channel-repository.ts';
import { openChannelSecret } from './channel-service.ts';
import { sendLine, sendSms, type SendOutcome } from './channel-senders.ts';
import {
  claimReplyToken,
  findConversation,
  findMessage,
  findOrCreateConversation,
  insertMessage,
  listConversations,
  listMessages,
  touchConversation,
  updateMessageDelivery,
  type ConversationMessageRow,
  type ConversationRow,
} from './conversation-repository.ts';
import { FlowStarts, type FlowStartSettings } from './flow-starts.ts';
import type { InboundText } from './inbound-parsers.ts';

export interface ConversationServiceOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** Longest wait for a vendor's answer to a send (default 10 s). */
  sendTimeoutMs?: number;
  /** How long after it arrived a LINE reply token is still used (default 50 s; LINE's limit is about a minute). */
  replyTokenTtlMs?: number;
  /** Retries of the flow start when flow-manager is away. */
  flowStarts?: Partial<FlowStartSettings>;
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    customer_id: row.customer_id,
    channel_id: row.channel_id,
    type: row.type as ConversationChannelType,
    self: row.self,
    peer: row.peer,
    status: row.status as Conversation['status'],
    tm_create: row.tm_create,
    tm_update: row.tm_update,
  };
}

/** The public form of a message (the reply token stays inside). */
export function toConversationMessage(row: ConversationMessageRow): ConversationMessage {
  return {
    id: row.id,
    customer_id: row.customer_id,
    conversation_id: row.conversation_id,
    direction: row.direction as ConversationMessage['direction'],
    text: row.text,
    provider_message_id: row.provider_message_id,
    delivery_status: row.delivery_status as ConversationMessage['delivery_status'],
    delivery_error: row.delivery_error,
    aicall_id: row.aicall_id,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
  };
}

/**
 * Conversations over SMS and LINE: stores what comes in through a channel's webhook and
 * starts its message flow, and sends what goes out (the AI's replies, an operator's
 * messages) through the conversation's channel, recording the delivery status.
 */
export class ConversationService {
  private readonly domain: DomainContext;
  private readonly logger: Logger;
  private readonly sendTimeoutMs: number;
  private readonly replyTokenTtlMs: number;
  private readonly bus: Bus;
  private readonly serviceName: string;
  /** Flow starts still in flight (tests wait on `flowStarts.idle()`). */
  readonly flowStarts: FlowStarts;

  constructor(options: ConversationServiceOptions) {
    this.domain = options.domain;
    this.logger = options.logger.child({ component: 'conversations' });
    this.sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.replyTokenTtlMs = options.replyTokenTtlMs ?? 50_000;
    this.bus = options.bus;
    this.serviceName = options.serviceName;
    this.flowStarts = new FlowStarts(options.bus, options.serviceName, this.logger, { attempts: 5, retryBaseMs: 500, timeoutMs: 5000, ...options.flowStarts });
  }

  /**
   * A channel's `flow_id` must be one of the customer's flows, checked with flow-manager
   * under that customer before it is stored: another customer's (or a missing) flow is its
   * 404 "Flow not found.", as for every other flow id of the API.
   */
  async assertOwnFlow(customerId: string, flowId: string): Promise<void> {
    await callFlowManager({ bus: this.bus, serviceName: this.serviceName }, customerId, 'GET', `/v1/flows/${encodeURIComponent(flowId.toLowerCase())}`);
  }

  /** Stops retrying flow starts (shutdown). */
  stop(): void {
    this.flowStarts.stop();
  }

  /**
   * Stores inbound texts of a channel whose signature was checked: each in its conversation
   * (created on the first message), once per provider message id (a redelivery stores and
   * starts nothing), with `conversation_created`/`conversation_updated` and `message_created`.
   * The message flow is started after the commit, in the background.
   */
  async receive(channel: ChannelRow, texts: readonly InboundText[]): Promise<ConversationMessage[]> {
    const stored: ConversationMessage[] = [];
    for (const text of texts) {
      const result = await withEvents(this.domain.db, this.domain.events, async (trx, emit) => {
        const found = await findOrCreateConversation(trx, {
          id: newId(),
          customer_id: channel.customer_id,
          channel_id: channel.id,
          type: channel.type,
          self: text.self,
          peer: text.peer,
        });
        const row = await insertMessage(trx, {
          id: newId(),
          customer_id: channel.customer_id,
          conversation_id: found.row.id,
          channel_id: channel.id,
          direction: 'incoming',
          text: text.text,
          provider_message_id: text.providerMessageId,
          delivery_status: 'received',
          delivery_error: '',
          aicall_id: null,
          reply_token: text.replyToken ?? null,
        });
        if (!row) return undefined;
        if (found.created) await emit('conversation_created', channel.customer_id, toConversation(found.row));
        else await emit('conversation_updated', channel.customer_id, toConversation(await touchConversation(trx, found.row.id)));
        const message = toConversationMessage(row);
        await emit('message_created', channel.customer_id, message);
        return { conversation: found.row, message };
      });
      if (!result) {
        this.logger.info({ channelId: channel.id, providerMessageId: text.providerMessageId }, 'duplicate delivery of a message ignored');
        continue;
      }
      stored.push(result.message);
      this.flowStarts.request({
        customer_id: channel.customer_id,
        conversation_id: result.conversation.id,
        message_id: result.message.id,
        source: text.peer,
        destination: text.self,
        text: text.text,
        ...(channel.flow_id ? { flow_id: channel.flow_id } : {}),
      });
    }
    return stored;
  }

  /**
   * Sends text through the conversation's channel as an outgoing message: stored `pending`
   * first (message_created), then sent, then `delivered` or `failed` (message_updated). Never
   * throws for a vendor failure (returns the failed message); throws notFound for a
   * conversation that is not the customer's.
   */
  async deliver(input: { customerId: string; conversationId: string; text: string; aicallId?: string | null }): Promise<ConversationMessage> {
    const conversation = await findConversation(this.domain.db, input.customerId, input.conversationId.toLowerCase());
    if (!conversation) throw notFound('conversation');
    const pending = await withEvents(this.domain.db, this.domain.events, async (trx, emit) => {
      const row = await insertMessage(trx, {
        id: newId(),
        customer_id: input.customerId,
        conversation_id: conversation.id,
        channel_id: conversation.channel_id,
        direction: 'outgoing',
        text: input.text,
        provider_message_id: null,
        delivery_status: 'pending',
        delivery_error: '',
        aicall_id: input.aicallId?.toLowerCase() ?? null,
        reply_token: null,
      });
      const message = toConversationMessage(row!);
      await emit('message_created', input.customerId, message);
      return message;
    });
    const outcome = await this.send(conversation, input.text).catch((error: unknown): SendOutcome => {
      this.logger.error({ err: error, conversationId: conversation.id }, 'sending a conversation message failed unexpectedly');
      return { ok: false, error: 'the message could not be sent (internal error)' };
    });
    if (!outcome.ok) this.logger.warn({ conversationId: conversation.id, messageId: pending.id, error: outcome.error }, 'conversation message not delivered');
    return withEvents(this.domain.db, this.domain.events, async (trx, emit) => {
      const row = await updateMessageDelivery(trx, pending.id, {
        delivery_status: outcome.ok ? 'delivered' : 'failed',
        delivery_error: outcome.ok ? '' : outcome.error,
        provider_message_id: outcome.ok ? outcome.providerMessageId : null,
      });
      const message = toConversationMessage(row);
      await emit('message_updated', input.customerId, message);
      return message;
    });
  }

  /** One inbound/outbound message of the customer's (undefined when not theirs). */
  async findMessage(customerId: string, messageId: string): Promise<ConversationMessage | undefined> {
    const row = await findMessage(this.domain.db, customerId, messageId.toLowerCase());
    return row && toConversationMessage(row);
  }

  async getConversation(customerId: string, id: string): Promise<Conversation> {
    const row = await findConversation(this.domain.db, customerId, id);
    if (!row) throw notFound('conversation');
    return toConversation(row);
  }

  async listConversations(customerId: string, filters: { channel_id?: string; status?: string }, page: ListQuery): Promise<ListResponse<Conversation>> {
    const list = await listConversations(this.domain.db, customerId, filters, page);
    return { result: list.result.map(toConversation), next_page_token: list.next_page_token };
  }

  /** A conversation's messages, newest first; another customer's conversation is a 404. */
  async listMessages(customerId: string, conversationId: string, page: ListQuery): Promise<ListResponse<ConversationMessage>> {
    await this.getConversation(customerId, conversationId);
    const list = await listMessages(this.domain.db, customerId, conversationId, page);
    return { result: list.result.map(toConversationMessage), next_page_token: list.next_page_token };
  }

  private async send(conversation: ConversationRow, text: string): Promise<SendOutcome> {
    const channel = await findChannelAnyState(this.domain.db, conversation.customer_id, conversation.channel_id);
    if (!channel || channel.tm_delete !== null) return { ok: false, error: 'the conversation channel was deleted' };
    const settings = { policy: this.domain.outbound, timeoutMs: this.sendTimeoutMs };
    if (channel.type === 'sms') {
      const authToken = openChannelSecret(this.domain, channel, 'auth_token');
      if (!authToken || !channel.account_sid) return { ok: false, error: 'the sms channel has no account_sid or auth_token' };
      return sendSms(settings, { apiBaseUrl: channel.api_base_url, accountSid: channel.account_sid, authToken }, conversation.peer, conversation.self, text);
    }
    const channelAccessToken = openChannelSecret(this.domain, channel, 'channel_access_token');
    if (!channelAccessToken) return { ok: false, error: 'the line channel has no channel_access_token' };
    const cutoff = new Date(Date.now() - this.replyTokenTtlMs).toISOString();
    const replyToken = await claimReplyToken(this.domain.db, conversation.id, cutoff);
    return sendLine(settings, { apiBaseUrl: channel.api_base_url, channelAccessToken }, conversation.peer, text, replyToken);
  }
}
