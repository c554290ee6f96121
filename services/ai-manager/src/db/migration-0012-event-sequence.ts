import type { Migration } from 'kysely/migration';
import { sql } from 'kysely';

/**
 * `0012_event_sequence_and_webhook_order`: what ordered webhooks and resumable WebSocket
 * subscriptions need.
 *
 * - `event_sequences`: one counter per customer. Staging an event takes the next number in the
 *   transaction of the change; the row lock it takes is held to the commit, so a customer's
 *   numbers follow commit order with no gap, which is what lets a client resume from one.
 * - `event_outbox` rows keep their customer and number, and stay after publishing
 *   (`published_at`) for the replay window instead of being deleted at once.
 * - `webhook_deliveries` name their event (`event_id`, `event_seq`) and the resource whose
 *   order they keep (`ordering_key`); the dispatcher only sends the oldest pending delivery of a
 *   key. Rows from before this migration have key '' (no order to keep).
 */
export const eventSequenceMigration: Migration = {
  async up(db) {
    await db.schema
      .createTable('event_sequences')
      .addColumn('customer_id', 'uuid', (column) => column.primaryKey())
      .addColumn('last_seq', 'bigint', (column) => column.notNull())
      .execute();
    await db.schema
      .alterTable('event_outbox')
      .addColumn('customer_id', 'uuid')
      .addColumn('seq', 'bigint')
      .addColumn('published_at', 'timestamptz')
      .execute();
    // Replay reads a customer's events after a number.
    await db.schema.createIndex('event_outbox_customer_seq_key').on('event_outbox').columns(['customer_id', 'seq']).unique().execute();
    // The relay looks for rows nobody published.
    await db.schema
      .createIndex('event_outbox_unpublished_idx')
      .on('event_outbox')
      .column('tm_create')
      .where(sql.ref('published_at'), 'is', null)
      .execute();
    await db.schema
      .alterTable('webhook_deliveries')
      .addColumn('event_id', 'uuid')
      .addColumn('event_seq', 'bigint', (column) => column.notNull().defaultTo(0))
      .addColumn('ordering_key', 'text', (column) => column.notNull().defaultTo(''))
      .execute();
    // "Is an earlier delivery of this resource still pending?", asked for every due row.
    await db.schema
      .createIndex('webhook_deliveries_order_idx')
      .on('webhook_deliveries')
      .columns(['customer_id', 'ordering_key', 'event_seq'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
  },
  async down(db) {
    await db.schema.dropIndex('webhook_deliveries_order_idx').execute();
    await db.schema.alterTable('webhook_deliveries').dropColumn('event_id').dropColumn('event_seq').dropColumn('ordering_key').execute();
    await db.schema.dropIndex('event_outbox_unpublished_idx').execute();
    await db.schema.dropIndex('event_outbox_customer_seq_key').execute();
    await db.schema.alterTable('event_outbox').dropColumn('customer_id').dropColumn('seq').dropColumn('published_at').execute();
    await db.schema.dropTable('event_sequences').execute();
  },
};
