import {
  newId,
  type Knowledgebase,
  type KnowledgebaseDocument,
  type KnowledgebaseDocumentCreate,
  type KnowledgebaseDocumentSummary,
  type KnowledgebaseFields,
  type KnowledgebasePassage,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import { withEvents } from '../../events/event-publisher.ts';
import { findAi } from '../ais/ai-repository.ts';
import { toAi } from '../ais/ai-service.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import {
  deleteDocument,
  deleteKnowledgebase,
  findDocument,
  findKnowledgebase,
  findKnowledgebases,
  insertDocument,
  insertKnowledgebase,
  listDocuments,
  listKnowledgebases,
  replaceKnowledgebase,
  searchPassages,
  setPassageTextConfig,
  unlinkKnowledgebaseFromAis,
  type KnowledgebaseDocumentRow,
  type KnowledgebaseDocumentSummaryRow,
  type KnowledgebaseRow,
} from './knowledgebase-repository.ts';
import { splitIntoPassages } from './passages.ts';
import { textSearchConfigFor } from './text-search-config.ts';

export function toKnowledgebase(row: KnowledgebaseRow): Knowledgebase {
  return {
    id: row.id,
    customer_id: row.customer_id,
    name: row.name,
    detail: row.detail,
    language: row.language,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

function toDocumentSummary(row: KnowledgebaseDocumentSummaryRow): KnowledgebaseDocumentSummary {
  return {
    id: row.id,
    customer_id: row.customer_id,
    knowledgebase_id: row.knowledgebase_id,
    name: row.name,
    source: row.source,
    content_length: row.content_length,
    passage_count: row.passage_count,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

function toDocument(row: KnowledgebaseDocumentRow): KnowledgebaseDocument {
  return { ...toDocumentSummary(row), content: row.content };
}

export async function createKnowledgebase(context: DomainContext, customerId: string, fields: KnowledgebaseFields): Promise<Knowledgebase> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await insertKnowledgebase(trx, newId(), customerId, { name: fields.name, detail: fields.detail, language: fields.language ?? '' });
    const knowledgebase = toKnowledgebase(row);
    await emit('knowledgebase_created', customerId, knowledgebase);
    return knowledgebase;
  });
}

export async function getKnowledgebase(context: DomainContext, customerId: string, id: string): Promise<Knowledgebase> {
  const row = await findKnowledgebase(context.db, customerId, id);
  if (!row) throw notFound('knowledge base');
  return toKnowledgebase(row);
}

export async function listKnowledgebasePage(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<Knowledgebase>> {
  const list = await listKnowledgebases(context.db, customerId, page);
  return { result: list.result.map(toKnowledgebase), next_page_token: list.next_page_token };
}

/**
 * Replaces name and detail; `language` keeps its stored value when left out. A new language
 * that means another text-search configuration re-indexes the passages in the same
 * transaction.
 */
export async function updateKnowledgebase(context: DomainContext, customerId: string, id: string, fields: KnowledgebaseFields): Promise<Knowledgebase> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const current = await findKnowledgebase(trx, customerId, id, 'update');
    if (!current) throw notFound('knowledge base');
    const language = fields.language ?? current.language;
    const row = await replaceKnowledgebase(trx, customerId, id, { name: fields.name, detail: fields.detail, language });
    if (!row) throw notFound('knowledge base');
    const config = textSearchConfigFor(language);
    if (config !== textSearchConfigFor(current.language)) await setPassageTextConfig(trx, id, config);
    const knowledgebase = toKnowledgebase(row);
    await emit('knowledgebase_updated', customerId, knowledgebase);
    return knowledgebase;
  });
}

/**
 * Deletes a knowledge base with its documents and passages, and takes it out of the AIs that
 * searched it (each gets `ai_updated`), so an AI never names a knowledge base that is gone.
 */
export async function removeKnowledgebase(context: DomainContext, customerId: string, id: string): Promise<Knowledgebase> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await deleteKnowledgebase(trx, customerId, id);
    if (!row) throw notFound('knowledge base');
    for (const aiId of await unlinkKnowledgebaseFromAis(trx, customerId, id)) {
      const ai = await findAi(trx, customerId, aiId);
      if (ai) await emit('ai_updated', customerId, toAi(ai));
    }
    const knowledgebase = toKnowledgebase(row);
    await emit('knowledgebase_deleted', customerId, knowledgebase);
    return knowledgebase;
  });
}

/** Stores a document and its passages; the knowledge base is locked so it cannot go away meanwhile. */
export async function addDocument(
  context: DomainContext,
  customerId: string,
  knowledgebaseId: string,
  fields: KnowledgebaseDocumentCreate,
): Promise<KnowledgebaseDocument> {
  const passages = splitIntoPassages(fields.content);
  return context.db.transaction().execute(async (trx) => {
    const knowledgebase = await findKnowledgebase(trx, customerId, knowledgebaseId, 'share');
    if (!knowledgebase) throw notFound('knowledge base');
    const row = await insertDocument(
      trx,
      { id: newId(), customer_id: customerId, knowledgebase_id: knowledgebaseId, name: fields.name, source: fields.source, content: fields.content },
      passages,
      textSearchConfigFor(knowledgebase.language),
    );
    return toDocument(row);
  });
}

export async function getDocument(context: DomainContext, customerId: string, knowledgebaseId: string, id: string): Promise<KnowledgebaseDocument> {
  if (!(await findKnowledgebase(context.db, customerId, knowledgebaseId))) throw notFound('knowledge base');
  const row = await findDocument(context.db, customerId, knowledgebaseId, id);
  if (!row) throw notFound('knowledge base document');
  return toDocument(row);
}

export async function listDocumentPage(
  context: DomainContext,
  customerId: string,
  knowledgebaseId: string,
  page: ListQuery,
): Promise<ListResponse<KnowledgebaseDocumentSummary>> {
  if (!(await findKnowledgebase(context.db, customerId, knowledgebaseId))) throw notFound('knowledge base');
  const list = await listDocuments(context.db, customerId, knowledgebaseId, page);
  return { result: list.result.map(toDocumentSummary), next_page_token: list.next_page_token };
}

export async function removeDocument(context: DomainContext, customerId: string, knowledgebaseId: string, id: string): Promise<KnowledgebaseDocument> {
  return context.db.transaction().execute(async (trx) => {
    if (!(await findKnowledgebase(trx, customerId, knowledgebaseId, 'share'))) throw notFound('knowledge base');
    const row = await deleteDocument(trx, customerId, knowledgebaseId, id);
    if (!row) throw notFound('knowledge base document');
    return toDocument(row);
  });
}

/**
 * The best passages for `text` among the customer's knowledge bases `knowledgebaseIds`
 * (ids that are not the customer's live knowledge bases are ignored), best first.
 */
export async function searchKnowledgebases(
  context: DomainContext,
  customerId: string,
  knowledgebaseIds: readonly string[],
  text: string,
  limit: number,
): Promise<KnowledgebasePassage[]> {
  const knowledgebases = await findKnowledgebases(context.db, customerId, knowledgebaseIds);
  if (knowledgebases.length === 0 || text.trim() === '') return [];
  return searchPassages(context.db, {
    customerId,
    knowledgebases: knowledgebases.map((row) => ({ id: row.id, textConfig: textSearchConfigFor(row.language) })),
    text: text.trim(),
    limit,
  });
}

/** `GET /v1.0/knowledgebases/{id}/search`: one knowledge base, as the AI would search it. */
export async function searchKnowledgebase(
  context: DomainContext,
  customerId: string,
  knowledgebaseId: string,
  text: string,
  limit: number,
): Promise<{ result: KnowledgebasePassage[] }> {
  if (!(await findKnowledgebase(context.db, customerId, knowledgebaseId))) throw notFound('knowledge base');
  return { result: await searchKnowledgebases(context, customerId, [knowledgebaseId], text, limit) };
}
