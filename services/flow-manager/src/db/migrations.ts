import { addTimestampColumns, createListIndex, type Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * flow-manager's migrations, applied in name order at start. Names are `NNNN_what`; a migration
 * that has run is never edited, a new one is added instead.
 */
export const migrations: Migrations = {
  '0001_create_flows_activeflows_calls_numbers': {
    async up(db) {
      await db.schema
        .createTable('flows')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('actions', 'jsonb', (column) => column.notNull())
        .addColumn('on_complete_flow_id', 'uuid')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'flows');

      await db.schema
        .createTable('activeflows')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('flow_id', 'uuid')
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('reference_type', 'text', (column) => column.notNull())
        .addColumn('reference_id', 'text')
        .addColumn('current_stack_id', 'text')
        .addColumn('current_action_id', 'text')
        .addColumn('stacks', 'jsonb', (column) => column.notNull())
        .addColumn('variables', 'jsonb', (column) => column.notNull())
        .addColumn('goto_counts', 'jsonb', (column) => column.notNull())
        .addColumn('execute_count', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('end_reason', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tm_end', 'timestamptz')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'activeflows');
      await db.schema.createIndex('activeflows_reference_idx').on('activeflows').columns(['reference_type', 'reference_id']).execute();

      await db.schema
        .createTable('calls')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('channel_id', 'text', (column) => column.notNull())
        .addColumn('activeflow_id', 'uuid')
        .addColumn('direction', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('destination', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('hangup_by', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('hangup_reason', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tm_progressing', 'timestamptz')
        .addColumn('tm_hangup', 'timestamptz')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'calls');
      await db.schema.createIndex('calls_channel_idx').on('calls').column('channel_id').execute();

      await db.schema
        .createTable('numbers')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('number', 'text', (column) => column.notNull())
        .addColumn('call_flow_id', 'uuid')
        .addColumn('message_flow_id', 'uuid')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'numbers');
      await db.schema
        .createIndex('numbers_number_key')
        .on('numbers')
        .column('number')
        .unique()
        .where(sql.ref('tm_delete'), 'is', null)
        .execute();

      await db.schema
        .createTable('inbound_messages')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('conversation_id', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('destination', 'text', (column) => column.notNull())
        .addColumn('text', 'text', (column) => column.notNull())
        .addColumn('activeflow_id', 'uuid')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'inbound_messages');
    },
    async down(db) {
      for (const table of ['inbound_messages', 'numbers', 'calls', 'activeflows', 'flows']) await db.schema.dropTable(table).execute();
    },
  },
  // Bridges made over RPC belong to a customer: every later operation on one is checked
  // against its owner, so another customer's bridge answers like a missing one.
  '0002_create_bridges': {
    async up(db) {
      await db.schema
        .createTable('bridges')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('control_id', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .$call(addTimestampColumns)
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('bridges').execute();
    },
  },
  // What flow-manager creates in Asterisk for a call outlives the process that created it:
  // each is recorded before it is created and removed once it is gone, so a flow-manager that
  // starts (or reconnects) can re-adopt or remove what a previous process left in Asterisk.
  '0003_create_telephony_records': {
    async up(db) {
      // One external media leg per call: the leg channel and the bridge it shares with the caller.
      await db.schema
        .createTable('external_media_legs')
        .addColumn('call_id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('caller_channel_id', 'text', (column) => column.notNull())
        .addColumn('channel_id', 'text', (column) => column.notNull())
        .addColumn('bridge_id', 'text', (column) => column.notNull())
        .addColumn('transport', 'text', (column) => column.notNull())
        .addColumn('pending', 'boolean', (column) => column.notNull())
        .addColumn('local_address', 'text')
        .addColumn('local_port', 'integer')
        .addColumn('websocket_url', 'text')
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull())
        .addColumn('tm_update', 'timestamptz', (column) => column.notNull())
        .execute();
      // Channels and bridges of a `connect`, and playbacks: removed by whoever finds them orphaned.
      await db.schema
        .createTable('telephony_objects')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('kind', 'text', (column) => column.notNull())
        .addColumn('call_id', 'uuid')
        .addColumn('caller_channel_id', 'text', (column) => column.notNull())
        .addColumn('channel_ids', 'jsonb', (column) => column.notNull())
        .addColumn('bridge_id', 'text')
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull())
        .execute();
    },
    async down(db) {
      for (const table of ['telephony_objects', 'external_media_legs']) await db.schema.dropTable(table).execute();
    },
  },
  // Recordings of calls: one stereo WAV each (in the recording storage, not the database).
  '0004_create_recordings': {
    async up(db) {
      await db.schema
        .createTable('recordings')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('reference_type', 'text', (column) => column.notNull())
        .addColumn('reference_id', 'uuid', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('format', 'text', (column) => column.notNull())
        .addColumn('duration_ms', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('failure_reason', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tm_start', 'timestamptz')
        .addColumn('tm_end', 'timestamptz')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'recordings');
      await db.schema.createIndex('recordings_reference_idx').on('recordings').columns(['reference_type', 'reference_id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('recordings').execute();
    },
  },
  // What a ringing outgoing call runs once answered: in the database, so a restart or another instance can start it.
  '0005_create_outgoing_flows': {
    async up(db) {
      await db.schema
        .createTable('outgoing_flows')
        .addColumn('call_id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('flow_id', 'uuid')
        .addColumn('actions', 'jsonb', (column) => column.notNull())
        .addColumn('variables', 'jsonb', (column) => column.notNull())
        .addColumn('inline_ai_ids', 'jsonb', (column) => column.notNull())
        .addColumn('answered', 'boolean', (column) => column.notNull().defaultTo(false))
        .addColumn('tm_ring_deadline', 'timestamptz', (column) => column.notNull())
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull())
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('outgoing_flows').execute();
    },
  },
  '0006_create_inline_ai_releases': {
    async up(db) {
      await db.schema
        .createTable('inline_ai_releases')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('ai_ids', 'jsonb', (column) => column.notNull())
        .addColumn('attempts', 'integer', (column) => column.notNull())
        .addColumn('tm_next_try', 'timestamptz', (column) => column.notNull())
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('inline_ai_releases_next_try_idx').on('inline_ai_releases').column('tm_next_try').execute();
    },
    async down(db) {
      await db.schema.dropTable('inline_ai_releases').execute();
    },
  },
};
