import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { newId } from './ids.ts';
import { jsonb, type JsonbColumn } from './jsonb.ts';
import type { Migrations } from './migrate.ts';
import { listPage, type ListQuery, type ListResponse } from './pagination.ts';
import {
  addTimestampColumns,
  creationTimestamps,
  deletionTimestamps,
  updateTimestamps,
  type TimestampColumns,
} from './timestamps.ts';

/**
 * A tiny table with a repository written the way services write theirs. The database
 * contract tests run it on both engines; it also serves as the worked example.
 */

/** A note's free-form JSON details. */
export type NoteDetail = Record<string, unknown>;

/** The `notes` table. */
export interface NotesTable extends TimestampColumns {
  id: string;
  customer_id: string;
  title: string;
  detail: JsonbColumn<NoteDetail>;
  tags: JsonbColumn<string[]>;
}

/** The tables of the example schema. */
export interface ExampleTables {
  notes: NotesTable;
}

/** A stored note. */
export type Note = Selectable<NotesTable>;

/** Either the schema's Kysely or a transaction on it. */
export type ExampleDb = Kysely<ExampleTables> | Transaction<ExampleTables>;

/** The example migrations. */
export const exampleMigrations: Migrations = {
  '0001_create_notes': {
    async up(db) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'uuid', (column) => column.primaryKey())
        .addColumn('customer_id', 'uuid', (column) => column.notNull())
        .addColumn('title', 'text', (column) => column.notNull())
        .addColumn('detail', 'jsonb', (column) => column.notNull().defaultTo(sql`'{}'::jsonb`))
        .$call(addTimestampColumns)
        .execute();
      // A title is unique among a customer's live notes; deleted ones may repeat it.
      await db.schema
        .createIndex('notes_customer_title_key')
        .on('notes')
        .columns(['customer_id', 'title'])
        .unique()
        .where(sql.ref('tm_delete'), 'is', null)
        .execute();
    },
    async down(db) {
      await db.schema.dropTable('notes').execute();
    },
  },
  '0002_add_note_tags': {
    async up(db) {
      await db.schema
        .alterTable('notes')
        .addColumn('tags', 'jsonb', (column) => column.notNull().defaultTo(sql`'[]'::jsonb`))
        .execute();
      await db.schema
        .createIndex('notes_customer_tm_create_idx')
        .on('notes')
        .expression(sql`customer_id, tm_create desc, id desc`)
        .execute();
    },
    async down(db) {
      await db.schema.dropIndex('notes_customer_tm_create_idx').execute();
      await db.schema.alterTable('notes').dropColumn('tags').execute();
    },
  },
};

/** Fields of a new note; timestamps may be given to stage ordering in tests. */
export interface NewNote {
  customer_id: string;
  title: string;
  detail?: NoteDetail;
  tags?: string[];
  tm_create?: string;
}

/** Inserts a note. */
export async function createNote(db: ExampleDb, fields: NewNote): Promise<Note> {
  const timestamps = creationTimestamps();
  return db
    .insertInto('notes')
    .values({
      id: newId(),
      customer_id: fields.customer_id,
      title: fields.title,
      detail: jsonb(fields.detail ?? {}),
      tags: jsonb(fields.tags ?? []),
      tm_create: fields.tm_create ?? timestamps.tm_create,
      tm_update: fields.tm_create ?? timestamps.tm_update,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A live note by id. */
export async function getNote(db: ExampleDb, id: string): Promise<Note | undefined> {
  return db.selectFrom('notes').selectAll().where('id', '=', id).where('tm_delete', 'is', null).executeTakeFirst();
}

/** Changes a live note; undefined when there is none. */
export async function updateNote(
  db: ExampleDb,
  id: string,
  fields: { title?: string; detail?: NoteDetail; tags?: string[] },
): Promise<Note | undefined> {
  return db
    .updateTable('notes')
    .set({
      ...(fields.title === undefined ? {} : { title: fields.title }),
      ...(fields.detail === undefined ? {} : { detail: jsonb(fields.detail) }),
      ...(fields.tags === undefined ? {} : { tags: jsonb(fields.tags) }),
      ...updateTimestamps(),
    })
    .where('id', '=', id)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Soft-deletes a live note; undefined when there is none. */
export async function deleteNote(db: ExampleDb, id: string): Promise<Note | undefined> {
  return db
    .updateTable('notes')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** A customer's live notes, newest first, one page. */
export async function listNotes(db: ExampleDb, customerId: string, page: ListQuery): Promise<ListResponse<Note>> {
  const query = db
    .selectFrom('notes')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null);
  return listPage(query, page);
}
