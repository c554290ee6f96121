import type { Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0013`-`0015`: what the AI's session settings and crash resumption need: how an AI takes
 * turns (`turn_config`), its fallback providers, and the pipeline epoch that fences a session's
 * pipeline after a takeover. Sessions keep a snapshot of the AI's settings on the AIcall.
 */
export const sessionSettingsMigrations: Migrations = {
  '0013_ais_turn_config': {
    // How an AI takes turns (end of turn, interruptions, stalls); sessions keep a snapshot.
    async up(db) {
      await db.schema.alterTable('ais').addColumn('turn_config', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`)).execute();
      await db.schema
        .alterTable('aicalls')
        .addColumn('ai_turn_config', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('ai_turn_config').execute();
      await db.schema.alterTable('ais').dropColumn('turn_config').execute();
    },
  },
  '0014_ais_fallback_providers': {
    // The providers tried when an AI's LLM or TTS stalls (turn_config.stall); the fallback key
    // is encrypted like engine_key. Sessions keep a snapshot of the models, never of the key.
    async up(db) {
      await db.schema
        .alterTable('ais')
        .addColumn('fallback_engine_model', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('fallback_engine_key_encrypted', 'text')
        .addColumn('fallback_tts_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('fallback_tts_voice_id', 'text', (column) => column.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('aicalls')
        .addColumn('ai_fallback_engine_model', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_fallback_tts_type', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('ai_fallback_tts_voice_id', 'text', (column) => column.notNull().defaultTo(''))
        .execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('ai_fallback_engine_model').dropColumn('ai_fallback_tts_type').dropColumn('ai_fallback_tts_voice_id').execute();
      await db.schema
        .alterTable('ais')
        .dropColumn('fallback_engine_model')
        .dropColumn('fallback_engine_key_encrypted')
        .dropColumn('fallback_tts_type')
        .dropColumn('fallback_tts_voice_id')
        .execute();
    },
  },
  '0015_aicalls_pipeline_epoch': {
    // Fencing for crash resumption: every takeover of a session's pipeline by another
    // pipeline-manager raises the epoch (compare-and-set with the instance), and reports,
    // tool calls and the end of a pipeline of an older epoch are refused.
    async up(db) {
      await db.schema.alterTable('aicalls').addColumn('pipeline_epoch', 'integer', (column) => column.notNull().defaultTo(0)).execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('pipeline_epoch').execute();
    },
  },
};
