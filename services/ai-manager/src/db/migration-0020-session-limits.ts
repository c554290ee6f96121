import type { Migrations } from '@avp/shared';

/**
 * `0020`: session limits. An AI's no-input handling (`no_input_timeout` seconds of caller
 * silence before a re-prompt, 0 = off; `no_input_max` re-prompts before the session ends), kept
 * on each AIcall as a snapshot like the AI's other session settings, and the AIcall's time limit
 * (`duration` seconds from its creation, from `ai_talk.duration`; 0 = none). The deadline is
 * derived from the stored creation time and duration, so a session resumed on another
 * pipeline-manager keeps the original one.
 */
export const sessionLimitMigrations: Migrations = {
  '0020_session_limits': {
    async up(db) {
      await db.schema
        .alterTable('ais')
        .addColumn('no_input_timeout', 'double precision', (column) => column.notNull().defaultTo(0))
        .addColumn('no_input_max', 'integer', (column) => column.notNull().defaultTo(2))
        .execute();
      await db.schema
        .alterTable('aicalls')
        .addColumn('ai_no_input_timeout', 'double precision', (column) => column.notNull().defaultTo(0))
        .addColumn('ai_no_input_max', 'integer', (column) => column.notNull().defaultTo(2))
        .addColumn('duration', 'integer', (column) => column.notNull().defaultTo(0))
        .execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('ai_no_input_timeout').dropColumn('ai_no_input_max').dropColumn('duration').execute();
      await db.schema.alterTable('ais').dropColumn('no_input_timeout').dropColumn('no_input_max').execute();
    },
  },
};
