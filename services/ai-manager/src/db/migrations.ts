import { addTimestampColumns, createListIndex, type Migrations } from '@avp/shared';
import { sql } from 'kysely';
import { eventSequenceMigration } from './migration-0012-event-sequence.ts';
import { sessionSettingsMigrations } from './migrations-0013-0015-session-settings.ts';
import { conversationsMigration } from './migration-0016-conversations.ts';
import { textTurnMigrations } from './migration-0017-text-turns.ts';
import { transcribeMigrations } from './migration-0018-transcribes.ts';
import { summaryMigrations } from './migration-0019-summaries.ts';
import { sessionLimitMigrations } from './migration-0020-session-limits.ts';
import { inlineAiMigrations } from './migration-0021-inline-ais.ts';
import { teamMigrations } from './migration-0022-teams.ts';
import { inlineReleaseMigrations } from './migration-0023-inline-release.ts';

/**
 * ai-manager's migrations, applied in name order at start. Names are `NNNN_what`; a migration
 * that has run is never edited, a new one is added instead.
 */
export const migrations: Migrations = {
  '0001_create_customers_and_keys': {
    async up(db) {
      await db.schema
        .createTable('customers')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('webhook_uri', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('webhook_secret', 'text', (column) => column.notNull())
        .$call(addTimestampColumns)
        .execute();
      await db.schema
        .createIndex('customers_list_idx')
        .on('customers')
        .expression(sql`tm_create desc, id desc`)
        .where(sql.ref('tm_delete'), 'is', null)
        .execute();
      await db.schema
        .createTable('access_keys')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull().references('customers.id'))
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('key_hash', 'text', (column) => column.notNull())
        .addColumn('key_prefix', 'text', (column) => column.notNull())
        .$call(addTimestampColumns)
        .execute();
      await db.schema.createIndex('access_keys_key_hash_key').on('access_keys').column('key_hash').unique().execute();
      await createListIndex(db, 'access_keys');
    },
    async down(db) {
      await db.schema.dropTable('access_keys').execute();
      await db.schema.dropTable('customers').execute();
    },
  },
  '0002_create_ais': {
    async up(db) {
      await db.schema
        .createTable('ais')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('engine_model', 'text', (column) => column.notNull())
        .addColumn('parameter', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('engine_key_encrypted', 'text')
        .addColumn('init_prompt', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tts_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tts_voice_id', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('stt_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('stt_language', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tool_names', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('vad_config', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('smart_turn_enabled', 'boolean', (column) => column.notNull().defaultTo(false))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'ais');
    },
    async down(db) {
      await db.schema.dropTable('ais').execute();
    },
  },
  '0003_create_aicalls_messages_summaries': {
    async up(db) {
      await db.schema
        .createTable('aicalls')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('assistance_type', 'text', (column) => column.notNull())
        .addColumn('assistance_id', 'uuid', (column) => column.notNull())
        .addColumn('ai_engine_model', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_tts_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_tts_voice_id', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_stt_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_vad_config', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('ai_smart_turn_enabled', 'boolean', (column) => column.notNull().defaultTo(false))
        .addColumn('stt_language', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('parameter', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .addColumn('activeflow_id', 'uuid')
        .addColumn('reference_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('reference_id', 'uuid')
        .addColumn('status', 'text', (column) =>
          column.notNull().check(sql`status in ('initiating', 'progressing', 'terminating', 'terminated')`),
        )
        .addColumn('tm_end', 'timestamptz')
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'aicalls');
      // At most one live session per referenced call or conversation.
      await db.schema
        .createIndex('aicalls_active_reference_key')
        .on('aicalls')
        .columns(['customer_id', 'reference_type', 'reference_id'])
        .unique()
        .where(sql<boolean>`reference_id is not null and tm_delete is null and status in ('initiating', 'progressing')`)
        .execute();

      await db.schema
        .createTable('aimessages')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('aicall_id', 'uuid', (column) => column.notNull())
        .addColumn('activeflow_id', 'uuid')
        .addColumn('active_ai_id', 'uuid')
        .addColumn('role', 'text', (column) => column.notNull())
        .addColumn('content', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('direction', 'text', (column) => column.notNull())
        .addColumn('tool_calls', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('tool_call_id', 'text', (column) => column.notNull().defaultTo(''))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'aimessages', 'aicall_id');

      await db.schema
        .createTable('aisummaries')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('activeflow_id', 'uuid')
        .addColumn('on_end_flow_id', 'uuid')
        .addColumn('reference_type', 'text', (column) => column.notNull())
        .addColumn('reference_id', 'uuid', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('language', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('content', 'text', (column) => column.notNull().defaultTo(''))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'aisummaries');
    },
    async down(db) {
      await db.schema.dropTable('aisummaries').execute();
      await db.schema.dropTable('aimessages').execute();
      await db.schema.dropTable('aicalls').execute();
    },
  },
  '0004_create_webhook_deliveries': {
    async up(db) {
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('event_type', 'text', (column) => column.notNull())
        .addColumn('body', 'text', (column) => column.notNull())
        .addColumn('uri', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) =>
          column.notNull().defaultTo('pending').check(sql`status in ('pending', 'delivered', 'failed')`),
        )
        .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'timestamptz', (column) => column.notNull().defaultTo(sql`clock_timestamp()`))
        .addColumn('last_error', 'text', (column) => column.notNull().defaultTo(''))
        .$call(addTimestampColumns)
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due_idx')
        .on('webhook_deliveries')
        .columns(['next_attempt_at'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('webhook_deliveries').execute();
    },
  },
  '0005_create_event_outbox': {
    async up(db) {
      await db.schema
        .createTable('event_outbox')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('event_type', 'text', (column) => column.notNull())
        .addColumn('data', 'text', (column) => column.notNull())
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull().defaultTo(sql`clock_timestamp()`))
        .execute();
      await db.schema.createIndex('event_outbox_tm_create_idx').on('event_outbox').column('tm_create').execute();
    },
    async down(db) {
      await db.schema.dropTable('event_outbox').execute();
    },
  },
  '0006_create_billing': {
    async up(db) {
      // Amounts are integer micro-units (1 unit = 1,000,000).
      await db.schema
        .createTable('billing_accounts')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull().unique())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('balance', 'bigint', (column) => column.notNull().defaultTo(0))
        .addColumn('currency', 'text', (column) => column.notNull().defaultTo('USD'))
        .$call(addTimestampColumns)
        .execute();
      await db.schema
        .createTable('billing_ledger')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('account_id', 'uuid', (column) => column.notNull().references('billing_accounts.id'))
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('kind', 'text', (column) => column.notNull().check(sql`kind in ('initial', 'usage', 'top_up')`))
        // The usage event's id: at most one entry per usage event (nulls are not compared).
        .addColumn('usage_id', 'uuid', (column) => column.unique())
        .addColumn('aicall_id', 'uuid')
        .addColumn('usage_kind', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('provider', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('input_tokens', 'double precision')
        .addColumn('output_tokens', 'double precision')
        .addColumn('characters', 'double precision')
        .addColumn('audio_seconds', 'double precision')
        .addColumn('amount', 'bigint', (column) => column.notNull())
        .addColumn('balance_after', 'bigint', (column) => column.notNull())
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tm_create', 'timestamptz', (column) => column.notNull().defaultTo(sql`clock_timestamp()`))
        .execute();
      await db.schema
        .createIndex('billing_ledger_list_idx')
        .on('billing_ledger')
        .expression(sql`account_id, tm_create desc, id desc`)
        .execute();
      await db.schema
        .createIndex('billing_ledger_aicall_idx')
        .on('billing_ledger')
        .column('aicall_id')
        .where(sql.ref('aicall_id'), 'is not', null)
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('billing_ledger').execute();
      await db.schema.dropTable('billing_accounts').execute();
    },
  },
  '0007_create_knowledgebases': {
    // Knowledge bases, their documents, and the passages documents are split into for
    // search_knowledge. A passage's tsvector is a generated column over its own text-search
    // configuration (`text_config`, from the knowledge base's language), indexed with GIN; the
    // same holds on PGlite.
    async up(db) {
      await db.schema
        .createTable('knowledgebases')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('language', 'text', (column) => column.notNull().defaultTo(''))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'knowledgebases');
      await db.schema
        .createTable('knowledgebase_documents')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('knowledgebase_id', 'uuid', (column) => column.notNull().references('knowledgebases.id'))
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('content', 'text', (column) => column.notNull())
        .addColumn('content_length', 'integer', (column) => column.notNull())
        .addColumn('passage_count', 'integer', (column) => column.notNull())
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'knowledgebase_documents', 'knowledgebase_id');
      // Passages exist only for live documents: deleting a document deletes its passages.
      await db.schema
        .createTable('knowledgebase_passages')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('knowledgebase_id', 'uuid', (column) => column.notNull())
        .addColumn('document_id', 'uuid', (column) => column.notNull().references('knowledgebase_documents.id'))
        .addColumn('position', 'integer', (column) => column.notNull())
        .addColumn('content', 'text', (column) => column.notNull())
        .addColumn('text_config', sql`regconfig`, (column) => column.notNull())
        .addColumn('search_vector', sql`tsvector`, (column) => column.generatedAlwaysAs(sql`to_tsvector(text_config, content)`).stored())
        .execute();
      await db.schema.createIndex('knowledgebase_passages_search_idx').on('knowledgebase_passages').using('gin').column('search_vector').execute();
      await db.schema.createIndex('knowledgebase_passages_knowledgebase_idx').on('knowledgebase_passages').column('knowledgebase_id').execute();
      await db.schema.createIndex('knowledgebase_passages_document_idx').on('knowledgebase_passages').column('document_id').execute();
      // The knowledge bases an AI's search_knowledge searches.
      await db.schema
        .alterTable('ais')
        .addColumn('knowledgebase_ids', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .execute();
    },
    async down(db) {
      await db.schema.alterTable('ais').dropColumn('knowledgebase_ids').execute();
      await db.schema.dropTable('knowledgebase_passages').execute();
      await db.schema.dropTable('knowledgebase_documents').execute();
      await db.schema.dropTable('knowledgebases').execute();
    },
  },
  '0008_aicalls_pipeline_instance': {
    // The pipeline-manager process running a session's pipeline: stop and DTMF go to its own
    // queue, and the pipeline watchdog asks it whether the pipeline still runs.
    async up(db) {
      await db.schema.alterTable('aicalls').addColumn('pipeline_instance_id', 'text').execute();
      // The watchdog reads the live sessions with a pipeline every few seconds.
      await db.schema
        .createIndex('aicalls_live_pipeline_idx')
        .on('aicalls')
        .column('pipeline_instance_id')
        .where(sql<boolean>`pipeline_instance_id is not null and tm_delete is null and status in ('initiating', 'progressing')`)
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('aicalls_live_pipeline_idx').execute();
      await db.schema.alterTable('aicalls').dropColumn('pipeline_instance_id').execute();
    },
  },
  '0009_aimessages_latency': {
    // The per-turn latencies of a spoken answer, reported by the pipeline with the message.
    async up(db) {
      await db.schema.alterTable('aimessages').addColumn('latency', 'jsonb').execute();
    },
    async down(db) {
      await db.schema.alterTable('aimessages').dropColumn('latency').execute();
    },
  },
  '0010_ais_media_transport': {
    // How a session's call audio reaches its pipeline ('' = the deployment's MEDIA_TRANSPORT).
    async up(db) {
      await db.schema.alterTable('ais').addColumn('media_transport', 'text', (column) => column.notNull().defaultTo('')).execute();
    },
    async down(db) {
      await db.schema.alterTable('ais').dropColumn('media_transport').execute();
    },
  },
  '0011_report_idempotency': {
    // The idempotency key of a message the pipeline reported: a report retried after a lost
    // reply (or a broker or database outage) is stored once. Unique per AIcall; null for
    // messages from the API.
    async up(db) {
      await db.schema.alterTable('aimessages').addColumn('report_id', 'uuid').execute();
      await db.schema
        .createIndex('aimessages_report_key')
        .on('aimessages')
        .columns(['aicall_id', 'report_id'])
        .unique()
        .where(sql.ref('report_id'), 'is not', null)
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('aimessages_report_key').execute();
      await db.schema.alterTable('aimessages').dropColumn('report_id').execute();
    },
  },
  // Per-customer event numbers, replayable outbox rows, per-resource webhook order.
  '0012_event_sequence_and_webhook_order': eventSequenceMigration,
  ...sessionSettingsMigrations,
  '0016_create_conversations': conversationsMigration,
  ...textTurnMigrations,
  ...transcribeMigrations,
  ...summaryMigrations,
  ...sessionLimitMigrations,
  ...inlineAiMigrations,
  ...teamMigrations,
  ...inlineReleaseMigrations,
};
