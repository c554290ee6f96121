import { creationTimestamps, deletionTimestamps, jsonb, listPage, newId, updateTimestamps, type ListQuery } from '@avp/shared';
import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { AiManagerDb, KnowledgebaseDocumentsTable, KnowledgebasesTable } from '../../db/tables.ts';

export type KnowledgebaseRow = Selectable<KnowledgebasesTable>;
export type KnowledgebaseDocumentRow = Selectable<KnowledgebaseDocumentsTable>;
export type KnowledgebaseDocumentSummaryRow = Omit<KnowledgebaseDocumentRow, 'content'>;

export interface KnowledgebaseRowFields {
  name: string;
  detail: string;
  language: string;
}

export async function insertKnowledgebase(db: AiManagerDb, id: string, customerId: string, fields: KnowledgebaseRowFields): Promise<KnowledgebaseRow> {
  return db
    .insertInto('knowledgebases')
    .values({ id, customer_id: customerId, ...fields, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * A live knowledge base of this customer; another customer's is "not there". `lock`: `share`
 * keeps it from being deleted or re-indexed until the transaction ends (adding a document,
 * linking it to an AI), `update` for a read-modify-write.
 */
export async function findKnowledgebase(
  db: AiManagerDb,
  customerId: string,
  id: string,
  lock?: 'share' | 'update',
): Promise<KnowledgebaseRow | undefined> {
  let query = db.selectFrom('knowledgebases').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  if (lock === 'share') query = query.forShare();
  if (lock === 'update') query = query.forUpdate();
  return query.executeTakeFirst();
}

/** The live knowledge bases of this customer among `ids`, locked against deletion (`FOR SHARE`). */
export async function findKnowledgebasesForShare(db: AiManagerDb, customerId: string, ids: readonly string[]): Promise<KnowledgebaseRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('knowledgebases')
    .selectAll()
    .where('id', 'in', ids)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .forShare()
    .execute();
}

/** The live knowledge bases of this customer among `ids` (no lock; for searching). */
export async function findKnowledgebases(db: AiManagerDb, customerId: string, ids: readonly string[]): Promise<KnowledgebaseRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('knowledgebases').selectAll().where('id', 'in', ids).where('customer_id', '=', customerId).where('tm_delete', 'is', null).execute();
}

export async function replaceKnowledgebase(
  db: AiManagerDb,
  customerId: string,
  id: string,
  fields: KnowledgebaseRowFields,
): Promise<KnowledgebaseRow | undefined> {
  return db
    .updateTable('knowledgebases')
    .set({ ...fields, ...updateTimestamps() })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Soft-deletes a knowledge base and its documents and drops their passages. */
export async function deleteKnowledgebase(db: AiManagerDb, customerId: string, id: string): Promise<KnowledgebaseRow | undefined> {
  const row = await db
    .updateTable('knowledgebases')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) return undefined;
  await db
    .updateTable('knowledgebase_documents')
    .set(deletionTimestamps())
    .where('knowledgebase_id', '=', id)
    .where('tm_delete', 'is', null)
    .execute();
  await db.deleteFrom('knowledgebase_passages').where('knowledgebase_id', '=', id).execute();
  return row;
}

export async function listKnowledgebases(db: AiManagerDb, customerId: string, page: ListQuery) {
  const query = db.selectFrom('knowledgebases').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page);
}

/** Re-indexes a knowledge base's passages with another text-search configuration. */
export async function setPassageTextConfig(db: AiManagerDb, knowledgebaseId: string, textConfig: string): Promise<void> {
  await db
    .updateTable('knowledgebase_passages')
    .set({ text_config: sql<string>`${textConfig}::regconfig` })
    .where('knowledgebase_id', '=', knowledgebaseId)
    .execute();
}

/** Removes a knowledge base from every AI of the customer that searches it; returns those AIs' ids. */
export async function unlinkKnowledgebaseFromAis(db: AiManagerDb, customerId: string, knowledgebaseId: string): Promise<string[]> {
  const rows = await db
    .updateTable('ais')
    .set({ knowledgebase_ids: sql<string[]>`knowledgebase_ids - ${knowledgebaseId}::text`, ...updateTimestamps() })
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .where(sql<boolean>`knowledgebase_ids @> ${jsonb([knowledgebaseId])}`)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

export interface NewKnowledgebaseDocument {
  id: string;
  customer_id: string;
  knowledgebase_id: string;
  name: string;
  source: string;
  content: string;
}

/** Stores a document and its passages, indexed with `textConfig`. */
export async function insertDocument(
  db: AiManagerDb,
  document: NewKnowledgebaseDocument,
  passages: readonly string[],
  textConfig: string,
): Promise<KnowledgebaseDocumentRow> {
  const row = await db
    .insertInto('knowledgebase_documents')
    .values({ ...document, content_length: document.content.length, passage_count: passages.length, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
  const config = sql<string>`${textConfig}::regconfig`;
  // Batches keep each statement's parameter count well under PostgreSQL's 65535.
  for (let start = 0; start < passages.length; start += 500) {
    await db
      .insertInto('knowledgebase_passages')
      .values(
        passages.slice(start, start + 500).map((content, index) => ({
          id: newId(),
          customer_id: document.customer_id,
          knowledgebase_id: document.knowledgebase_id,
          document_id: document.id,
          position: start + index,
          content,
          text_config: config,
        })),
      )
      .execute();
  }
  return row;
}

/** A live document of this customer's knowledge base. */
export async function findDocument(
  db: AiManagerDb,
  customerId: string,
  knowledgebaseId: string,
  id: string,
): Promise<KnowledgebaseDocumentRow | undefined> {
  return db
    .selectFrom('knowledgebase_documents')
    .selectAll()
    .where('id', '=', id)
    .where('knowledgebase_id', '=', knowledgebaseId)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
}

/** A page of a knowledge base's documents, without their content. */
export async function listDocuments(db: AiManagerDb, customerId: string, knowledgebaseId: string, page: ListQuery) {
  const query = db
    .selectFrom('knowledgebase_documents')
    .select(['id', 'customer_id', 'knowledgebase_id', 'name', 'source', 'content_length', 'passage_count', 'tm_create', 'tm_update', 'tm_delete'])
    .where('knowledgebase_id', '=', knowledgebaseId)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null);
  return listPage(query, page);
}

/** Soft-deletes a document and drops its passages. */
export async function deleteDocument(
  db: AiManagerDb,
  customerId: string,
  knowledgebaseId: string,
  id: string,
): Promise<KnowledgebaseDocumentRow | undefined> {
  const row = await db
    .updateTable('knowledgebase_documents')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('knowledgebase_id', '=', knowledgebaseId)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (row) await db.deleteFrom('knowledgebase_passages').where('document_id', '=', id).execute();
  return row;
}

export interface PassageSearch {
  customerId: string;
  /** The knowledge bases to search and the text-search configuration of each. */
  knowledgebases: readonly { id: string; textConfig: string }[];
  text: string;
  limit: number;
}

export interface PassageHit {
  knowledgebase_id: string;
  document_id: string;
  document_name: string;
  source: string;
  position: number;
  content: string;
  rank: number;
}

/**
 * The query for `text` in one configuration: its words (stemmed, stop words dropped, as the
 * passages were indexed) joined with OR, so a passage needs only some of them; `ts_rank`
 * then puts passages with more of the words, and rarer repeats, first.
 */
function anyWordQuery(textConfig: string, text: string): RawBuilder<string> {
  return sql<string>`replace(plainto_tsquery(${textConfig}::regconfig, ${text})::text, ' & ', ' | ')::tsquery`;
}

/**
 * The best passages of the given knowledge bases for `text`, by `ts_rank`. Each knowledge
 * base is matched in its own configuration; the condition per configuration keeps the GIN
 * index usable.
 */
export async function searchPassages(db: AiManagerDb, search: PassageSearch): Promise<PassageHit[]> {
  if (search.knowledgebases.length === 0) return [];
  const configs = [...new Set(search.knowledgebases.map((knowledgebase) => knowledgebase.textConfig))];
  const vector = sql.ref('p.search_vector');
  const passageConfig = sql.ref('p.text_config');
  const rankQuery =
    configs.length === 1
      ? anyWordQuery(configs[0]!, search.text)
      : sql`case ${sql.join(
          configs.map((config) => sql`when ${passageConfig} = ${config}::regconfig then ${anyWordQuery(config, search.text)}`),
          sql` `,
        )} end`;
  const rows = await db
    .selectFrom('knowledgebase_passages as p')
    .innerJoin('knowledgebase_documents as d', 'd.id', 'p.document_id')
    .select([
      'p.knowledgebase_id',
      'p.document_id',
      'd.name as document_name',
      'd.source',
      'p.position',
      'p.content',
      sql<number>`ts_rank(${vector}, ${rankQuery})`.as('rank'),
    ])
    .where('p.customer_id', '=', search.customerId)
    .where(
      'p.knowledgebase_id',
      'in',
      search.knowledgebases.map((knowledgebase) => knowledgebase.id),
    )
    .where('d.tm_delete', 'is', null)
    .where((eb) =>
      eb.or(configs.map((config) => sql<boolean>`(${passageConfig} = ${config}::regconfig and ${vector} @@ ${anyWordQuery(config, search.text)})`)),
    )
    .orderBy('rank', 'desc')
    .orderBy('p.document_id')
    .orderBy('p.position')
    .limit(search.limit)
    .execute();
  return rows.map((row) => ({ ...row, rank: Number(row.rank) }));
}
