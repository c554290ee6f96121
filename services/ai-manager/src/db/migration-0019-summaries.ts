import type { Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0019`: summaries are written. Each summarises one transcription (`transcribe_id`), may be
 * written by a customer's AI (`ai_id`), can fail with a reason (`failure_reason`), and is
 * claimed by one writer at a time (`tm_generate`: when the writer started, so a writer that
 * died is replaced once it is stale). One live summary per customer, reference and language
 * makes a repeated request answer the first (older duplicates, which only the old bus route
 * could make, are soft-deleted first so the index can be built).
 */
export const summaryMigrations: Migrations = {
  '0019_aisummaries_generation': {
    async up(db) {
      await db.schema
        .alterTable('aisummaries')
        .addColumn('transcribe_id', 'uuid')
        .addColumn('ai_id', 'uuid')
        .addColumn('failure_reason', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('tm_generate', 'timestamptz')
        .execute();
      await db
        .updateTable('aisummaries as older')
        .set({ tm_delete: sql`now()` })
        .where('older.tm_delete', 'is', null)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('aisummaries as newer')
              .select(sql`1`.as('one'))
              .where('newer.tm_delete', 'is', null)
              .whereRef('newer.customer_id', '=', 'older.customer_id')
              .whereRef('newer.reference_type', '=', 'older.reference_type')
              .whereRef('newer.reference_id', '=', 'older.reference_id')
              .whereRef('newer.language', '=', 'older.language')
              .where(sql<boolean>`(newer.tm_create, newer.id) > (older.tm_create, older.id)`),
          ),
        )
        .execute();
      await db.schema
        .createIndex('aisummaries_reference_key')
        .on('aisummaries')
        .columns(['customer_id', 'reference_type', 'reference_id', 'language'])
        .unique()
        .where(sql.ref('tm_delete'), 'is', null)
        .execute();
      await db.schema
        .createIndex('aisummaries_progressing_idx')
        .on('aisummaries')
        .column('transcribe_id')
        .where(sql.ref('status'), '=', 'progressing')
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('aisummaries_progressing_idx').execute();
      await db.schema.dropIndex('aisummaries_reference_key').execute();
      await db.schema.alterTable('aisummaries').dropColumn('tm_generate').dropColumn('failure_reason').dropColumn('ai_id').dropColumn('transcribe_id').execute();
    },
  },
};
