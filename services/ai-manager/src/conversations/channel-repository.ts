import { creationTimestamps, deletionTimestamps, listPage, updateTimestamps, type ListQuery } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AiManagerDb, ConversationChannelsTable } from '../db/tables.ts';

export type ChannelRow = Selectable<ConversationChannelsTable>;

/** Every stored field of a channel but its id, owner, type and timestamps. */
export interface ChannelRowFields {
  name: string;
  detail: string;
  flow_id: string | null;
  api_base_url: string;
  account_sid: string;
  auth_token_encrypted: string | null;
  channel_secret_encrypted: string | null;
  channel_access_token_encrypted: string | null;
}

export async function insertChannel(db: AiManagerDb, id: string, customerId: string, type: string, fields: ChannelRowFields): Promise<ChannelRow> {
  return db
    .insertInto('conversation_channels')
    .values({ id, customer_id: customerId, type, ...fields, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A live channel of this customer; another customer's is "not there". */
export async function findChannel(db: AiManagerDb, customerId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<ChannelRow | undefined> {
  const query = db.selectFrom('conversation_channels').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

/** A live channel by id alone: for the vendor's webhook, which the signature authenticates. */
export async function findChannelForWebhook(db: AiManagerDb, id: string): Promise<ChannelRow | undefined> {
  return db.selectFrom('conversation_channels').selectAll().where('id', '=', id).where('tm_delete', 'is', null).executeTakeFirst();
}

/** A channel even when deleted (sending through a conversation whose channel is gone fails clearly). */
export async function findChannelAnyState(db: AiManagerDb, customerId: string, id: string): Promise<ChannelRow | undefined> {
  return db.selectFrom('conversation_channels').selectAll().where('id', '=', id).where('customer_id', '=', customerId).executeTakeFirst();
}

export async function replaceChannel(db: AiManagerDb, customerId: string, id: string, fields: ChannelRowFields): Promise<ChannelRow | undefined> {
  return db
    .updateTable('conversation_channels')
    .set({ ...fields, ...updateTimestamps() })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteChannel(db: AiManagerDb, customerId: string, id: string): Promise<ChannelRow | undefined> {
  return db
    .updateTable('conversation_channels')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function listChannels(db: AiManagerDb, customerId: string, page: ListQuery) {
  const query = db.selectFrom('conversation_channels').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page);
}
