import { creationTimestamps, listPage, updateTimestamps, type ListQuery } from '@avp/shared';
import type { Insertable, Selectable } from 'kysely';
import type { AiManagerDb, ConversationMessagesTable, ConversationsTable } from '../db/tables.ts';

export type ConversationRow = Selectable<ConversationsTable>;
export type ConversationMessageRow = Selectable<ConversationMessagesTable>;

/**
 * The channel's conversation with this contact, created when there is none. Answers whether
 * it was created here; two deliveries racing for the same new conversation end with one row
 * (the unique key), the loser reading the winner's.
 */
export async function findOrCreateConversation(
  db: AiManagerDb,
  values: { id: string; customer_id: string; channel_id: string; type: string; self: string; peer: string },
): Promise<{ row: ConversationRow; created: boolean }> {
  const inserted = await db
    .insertInto('conversations')
    .values({ ...values, status: 'open', ...creationTimestamps() })
    .onConflict((conflict) => conflict.columns(['channel_id', 'self', 'peer']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { row: inserted, created: true };
  const row = await db
    .selectFrom('conversations')
    .selectAll()
    .where('channel_id', '=', values.channel_id)
    .where('self', '=', values.self)
    .where('peer', '=', values.peer)
    .executeTakeFirstOrThrow();
  return { row, created: false };
}

export async function touchConversation(db: AiManagerDb, id: string): Promise<ConversationRow> {
  return db.updateTable('conversations').set(updateTimestamps()).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function findConversation(db: AiManagerDb, customerId: string, id: string): Promise<ConversationRow | undefined> {
  return db.selectFrom('conversations').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null).executeTakeFirst();
}

export async function listConversations(db: AiManagerDb, customerId: string, filters: { channel_id?: string; status?: string }, page: ListQuery) {
  let query = db.selectFrom('conversations').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  if (filters.channel_id) query = query.where('channel_id', '=', filters.channel_id);
  if (filters.status) query = query.where('status', '=', filters.status);
  return listPage(query, page);
}

/** Stores a message; undefined for an inbound one whose provider id the channel already has (a redelivery). */
export async function insertMessage(db: AiManagerDb, values: Omit<Insertable<ConversationMessagesTable>, 'tm_create' | 'tm_update'>): Promise<ConversationMessageRow | undefined> {
  return db
    .insertInto('conversation_messages')
    .values({ ...values, ...creationTimestamps() })
    .onConflict((conflict) => conflict.columns(['channel_id', 'provider_message_id']).where('direction', '=', 'incoming').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function updateMessageDelivery(
  db: AiManagerDb,
  id: string,
  fields: { delivery_status: string; delivery_error: string; provider_message_id: string | null },
): Promise<ConversationMessageRow> {
  return db.updateTable('conversation_messages').set({ ...fields, ...updateTimestamps() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function findMessage(db: AiManagerDb, customerId: string, id: string): Promise<ConversationMessageRow | undefined> {
  return db.selectFrom('conversation_messages').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null).executeTakeFirst();
}

/** A conversation's messages, newest first. */
export async function listMessages(db: AiManagerDb, customerId: string, conversationId: string, page: ListQuery) {
  const query = db
    .selectFrom('conversation_messages')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('conversation_id', '=', conversationId)
    .where('tm_delete', 'is', null);
  return listPage(query, page);
}

/**
 * Takes the newest unused LINE reply token of the conversation that arrived after
 * `arrivedAfter`, marking it used in the same statement (the row lock, skipped by a racing
 * claim), so two replies never take the same token: LINE accepts each token once.
 */
export async function claimReplyToken(db: AiManagerDb, conversationId: string, arrivedAfter: string): Promise<string | undefined> {
  const claimed = await db
    .updateTable('conversation_messages')
    .set({ reply_token_used: true })
    .where('id', '=', (eb) =>
      eb
        .selectFrom('conversation_messages')
        .select('id')
        .where('conversation_id', '=', conversationId)
        .where('direction', '=', 'incoming')
        .where('reply_token', 'is not', null)
        .where('reply_token_used', '=', false)
        .where('tm_create', '>', arrivedAfter)
        .orderBy('tm_create', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returning('reply_token')
    .executeTakeFirst();
  return claimed?.reply_token ?? undefined;
}
