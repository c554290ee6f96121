import type { Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0021`: inline AIs. The settings an `ai_talk` / `ai` / `ai_task` action carries instead of
 * naming an AI are kept as an AI row of the customer's, marked by its owner (`flow`,
 * `activeflow` or `calls`, the owner's id) and the action's id, so a session runs it exactly
 * like a named AI while `/v1.0/ais` never shows it. One live inline AI per customer, owner and
 * action.
 */
export const inlineAiMigrations: Migrations = {
  '0021_inline_ais': {
    async up(db) {
      await db.schema
        .alterTable('ais')
        .addColumn('inline_owner_type', 'text')
        .addColumn('inline_owner_id', 'uuid')
        .addColumn('inline_action_id', 'uuid')
        .execute();
      await db.schema
        .createIndex('ais_inline_owner_key')
        .on('ais')
        .columns(['customer_id', 'inline_owner_id', 'inline_action_id'])
        .unique()
        .where(sql.ref('tm_delete'), 'is', null)
        .where(sql.ref('inline_owner_id'), 'is not', null)
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('ais_inline_owner_key').execute();
      await db.schema.alterTable('ais').dropColumn('inline_owner_type').dropColumn('inline_owner_id').dropColumn('inline_action_id').execute();
    },
  },
};
