import { addTimestampColumns, createListIndex } from '@avp/shared';
import { sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * `0016`: conversation channels (SMS through a Twilio-compatible API, LINE), the
 * conversations on them and their messages. A provider's message id is unique per channel,
 * so a webhook the vendor delivers twice stores one message; a conversation is unique per
 * channel, own address and contact.
 */
export const conversationsMigration: Migration = {
  async up(db) {
    await db.schema
      .createTable('conversation_channels')
      .addColumn('id', 'uuid', (column) => column.primaryKey())
      .addColumn('customer_id', 'uuid', (column) => column.notNull())
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('flow_id', 'uuid')
      .addColumn('api_base_url', 'text', (column) => column.notNull())
      .addColumn('account_sid', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('auth_token_encrypted', 'text')
      .addColumn('channel_secret_encrypted', 'text')
      .addColumn('channel_access_token_encrypted', 'text')
      .$call(addTimestampColumns)
      .execute();
    await createListIndex(db, 'conversation_channels');

    await db.schema
      .createTable('conversations')
      .addColumn('id', 'uuid', (column) => column.primaryKey())
      .addColumn('customer_id', 'uuid', (column) => column.notNull())
      .addColumn('channel_id', 'uuid', (column) => column.notNull().references('conversation_channels.id'))
      .addColumn('type', 'text', (column) => column.notNull())
      .addColumn('self', 'text', (column) => column.notNull())
      .addColumn('peer', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull().defaultTo('open'))
      .$call(addTimestampColumns)
      .execute();
    await db.schema.createIndex('conversations_channel_self_peer_key').on('conversations').columns(['channel_id', 'self', 'peer']).unique().execute();
    await createListIndex(db, 'conversations');

    await db.schema
      .createTable('conversation_messages')
      .addColumn('id', 'uuid', (column) => column.primaryKey())
      .addColumn('customer_id', 'uuid', (column) => column.notNull())
      .addColumn('conversation_id', 'uuid', (column) => column.notNull().references('conversations.id'))
      .addColumn('channel_id', 'uuid', (column) => column.notNull())
      .addColumn('direction', 'text', (column) => column.notNull())
      .addColumn('text', 'text', (column) => column.notNull())
      .addColumn('provider_message_id', 'text')
      .addColumn('delivery_status', 'text', (column) => column.notNull())
      .addColumn('delivery_error', 'text', (column) => column.notNull().defaultTo(''))
      .addColumn('aicall_id', 'uuid')
      // LINE: the inbound message's reply token, usable once within about a minute.
      .addColumn('reply_token', 'text')
      .addColumn('reply_token_used', 'boolean', (column) => column.notNull().defaultTo(false))
      .$call(addTimestampColumns)
      .execute();
    // Inbound only: what dedupes is the vendor delivering a message twice; the ids the vendor
    // gives our outbound messages are only recorded.
    await db.schema
      .createIndex('conversation_messages_provider_key')
      .on('conversation_messages')
      .columns(['channel_id', 'provider_message_id'])
      .unique()
      .where(sql.ref('direction'), '=', 'incoming')
      .execute();
    await createListIndex(db, 'conversation_messages', 'conversation_id');
    await db.schema
      .createIndex('conversation_messages_reply_token_idx')
      .on('conversation_messages')
      .expression(sql`conversation_id, tm_create desc`)
      .where(sql.ref('reply_token'), 'is not', null)
      .execute();
  },
  async down(db) {
    for (const table of ['conversation_messages', 'conversations', 'conversation_channels']) await db.schema.dropTable(table).execute();
  },
};
