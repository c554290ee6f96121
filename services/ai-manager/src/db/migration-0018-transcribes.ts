import { addTimestampColumns, createListIndex, type Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0018`: live transcriptions of calls and their transcripts. A transcription keeps the
 * pipeline-manager transcribers that hear it (one per direction, with the instance that runs
 * each), so any ai-manager instance can stop them.
 */
export const transcribeMigrations: Migrations = {
  '0018_create_transcribes': {
    async up(db) {
      await db.schema
        .createTable('transcribes')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('reference_type', 'text', (column) => column.notNull())
        .addColumn('reference_id', 'uuid', (column) => column.notNull())
        .addColumn('language', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('direction', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('transcribers', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'transcribes');
      await db.schema.createIndex('transcribes_reference_idx').on('transcribes').columns(['reference_id', 'status']).execute();
      await db.schema
        .createTable('transcripts')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('transcribe_id', 'uuid', (column) => column.notNull().references('transcribes.id'))
        .addColumn('direction', 'text', (column) => column.notNull())
        .addColumn('message', 'text', (column) => column.notNull())
        .addColumn('offset_ms', 'integer', (column) => column.notNull())
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'transcripts', 'transcribe_id');
    },
    async down(db) {
      await db.schema.dropTable('transcripts').execute();
      await db.schema.dropTable('transcribes').execute();
    },
  },
};
