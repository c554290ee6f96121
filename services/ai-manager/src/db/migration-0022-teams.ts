import { addTimestampColumns, createListIndex, type Migrations } from '@avp/shared';
import { sql } from 'kysely';

/**
 * `0022`: teams. A team is a set of the customer's AIs (members, kept as JSON with their
 * transitions: they are read and written whole, never queried by part). A team's AIcall
 * records the member answering now (`current_member_id`) and that member's AI
 * (`current_ai_id`: the tools it may run and the `active_ai_id` of its messages); both are
 * null for a single AI's session.
 */
export const teamMigrations: Migrations = {
  '0022_teams': {
    async up(db) {
      await db.schema
        .createTable('teams')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('detail', 'text', (column) => column.notNull().defaultTo(''))
        .addColumn('start_member_id', 'uuid', (column) => column.notNull())
        .addColumn('members', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .addColumn('parameter', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .$call(addTimestampColumns)
        .execute();
      await createListIndex(db, 'teams');
      await db.schema.alterTable('aicalls').addColumn('current_member_id', 'uuid').addColumn('current_ai_id', 'uuid').execute();
    },
    async down(db) {
      await db.schema.alterTable('aicalls').dropColumn('current_member_id').dropColumn('current_ai_id').execute();
      await db.schema.dropTable('teams').execute();
    },
  },
};
