import type { Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0023`: `ais.inline_owner_ended`. An inline AI owned by an activeflow or by one request of
 * outgoing calls is released when its owner can start no more sessions with it; it is deleted at
 * once if no session runs it, else by the end of the last session that does. The live AIcalls
 * are indexed by their AI for that check (only live ones: the index stays small).
 */
export const inlineReleaseMigrations: Migrations = {
  '0023_inline_owner_ended': {
    async up(db) {
      await db.schema.alterTable('ais').addColumn('inline_owner_ended', 'boolean', (column) => column.notNull().defaultTo(false)).execute();
      await db.schema
        .createIndex('aicalls_live_assistance_idx')
        .on('aicalls')
        .column('assistance_id')
        .where(sql<boolean>`status <> 'terminated' and tm_delete is null`)
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('aicalls_live_assistance_idx').execute();
      await db.schema.alterTable('ais').dropColumn('inline_owner_ended').execute();
    },
  },
};
