import type { Migrations } from '@avp/shared';

/**
 * `0017`: text conversations (SMS, LINE, text AIcalls over the API). `text_turn_id` is the id of
 * the answer the AIcall waits for: a message that arrives while an answer is being written gives
 * the AIcall a new one, and an answer (or a tool call) of an older turn is dropped.
 */
export const textTurnMigrations: Migrations = {
  '0017_aicalls_text_turn': {
    async up(db) {
      await db.schema.alterTable('aicalls').addColumn('text_turn_id', 'uuid').execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('text_turn_id').execute();
    },
  },
};
