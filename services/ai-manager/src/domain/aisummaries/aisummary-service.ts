import {
  creationTimestamps,
  deletionTimestamps,
  listPage,
  newId,
  updateTimestamps,
  type Aisummary,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import { sql, type Selectable } from 'kysely';
import type { AisummariesTable } from '../../db/tables.ts';
import { withEvents } from '../../events/event-publisher.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';

/** A stored summary. */
export type AisummaryRow = Selectable<AisummariesTable>;

/** The public form of a summary. */
export function toAisummary(row: AisummaryRow): Aisummary {
  return {
    id: row.id,
    customer_id: row.customer_id,
    activeflow_id: row.activeflow_id,
    on_end_flow_id: row.on_end_flow_id,
    reference_type: row.reference_type as Aisummary['reference_type'],
    reference_id: row.reference_id,
    transcribe_id: row.transcribe_id,
    ai_id: row.ai_id,
    status: row.status as Aisummary['status'],
    language: row.language,
    content: row.content,
    failure_reason: row.failure_reason,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/** Fields of a new summary record (the writer fills `content` once its transcription is done). */
export interface NewAisummary {
  customer_id: string;
  activeflow_id?: string | null;
  on_end_flow_id?: string | null;
  reference_type: Aisummary['reference_type'];
  reference_id: string;
  transcribe_id: string;
  ai_id?: string | null;
  language?: string;
}

/** The live summary of a customer's reference in a language, if there is one (idempotent creation). */
export async function findAisummaryOf(context: DomainContext, key: Pick<NewAisummary, 'customer_id' | 'reference_type' | 'reference_id' | 'language'>): Promise<Aisummary | undefined> {
  const row = await context.db
    .selectFrom('aisummaries')
    .selectAll()
    .where('customer_id', '=', key.customer_id)
    .where('reference_type', '=', key.reference_type)
    .where('reference_id', '=', key.reference_id)
    .where('language', '=', key.language ?? '')
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
  return row ? toAisummary(row) : undefined;
}

/**
 * Creates a summary record in `progressing` and publishes `summary_created`; when the customer
 * has a live one for the same reference and language already (also one created at the same
 * moment by another request: the unique index decides), that one is answered and nothing is
 * published.
 */
export async function createAisummary(context: DomainContext, fields: NewAisummary): Promise<{ summary: Aisummary; created: boolean }> {
  const created = await withEvents(context.db, context.events, async (trx, emit) => {
    const row = await trx
      .insertInto('aisummaries')
      .values({
        id: newId(),
        customer_id: fields.customer_id,
        activeflow_id: fields.activeflow_id ?? null,
        on_end_flow_id: fields.on_end_flow_id ?? null,
        reference_type: fields.reference_type,
        reference_id: fields.reference_id,
        transcribe_id: fields.transcribe_id,
        ai_id: fields.ai_id ?? null,
        status: 'progressing',
        language: fields.language ?? '',
        content: '',
        failure_reason: '',
        ...creationTimestamps(),
      })
      .onConflict((conflict) => conflict.columns(['customer_id', 'reference_type', 'reference_id', 'language']).where('tm_delete', 'is', null).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    const summary = toAisummary(row);
    await emit('summary_created', summary.customer_id, summary);
    return summary;
  });
  if (created) return { summary: created, created: true };
  const existing = await findAisummaryOf(context, fields);
  if (!existing) throw new Error('a summary conflicted with one that is gone; try again');
  return { summary: existing, created: false };
}

/**
 * Ends a `progressing` summary as `done` (with its content) or `failed` (with the reason) and
 * publishes `summary_updated`; undefined when it was not progressing any more (written by
 * another writer, or deleted).
 */
export async function finishAisummary(
  context: DomainContext,
  id: string,
  outcome: { status: 'done'; content: string } | { status: 'failed'; reason: string },
): Promise<Aisummary | undefined> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await trx
      .updateTable('aisummaries')
      .set({
        status: outcome.status,
        content: outcome.status === 'done' ? outcome.content : '',
        failure_reason: outcome.status === 'failed' ? outcome.reason.slice(0, 2000) : '',
        ...updateTimestamps(),
      })
      .where('id', '=', id)
      .where('status', '=', 'progressing')
      .where('tm_delete', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    const summary = toAisummary(row);
    await emit('summary_updated', summary.customer_id, summary);
    return summary;
  });
}

/**
 * Claims a progressing summary for writing: only one writer (of any ai-manager process) holds
 * it at a time; a claim older than `staleAfterSeconds` is a writer that died and is taken over.
 */
export async function claimAisummary(context: DomainContext, id: string, staleAfterSeconds: number): Promise<AisummaryRow | undefined> {
  return context.db
    .updateTable('aisummaries')
    .set({ tm_generate: sql`now()` })
    .where('id', '=', id)
    .where('status', '=', 'progressing')
    .where('tm_delete', 'is', null)
    .where((where) => where.or([where('tm_generate', 'is', null), where('tm_generate', '<', sql<string>`now() - make_interval(secs => ${staleAfterSeconds})`)]))
    .returningAll()
    .executeTakeFirst();
}

/** Progressing summaries whose transcription is done and that no live writer holds (the start-up and periodic sweep). */
export async function findUnwrittenAisummaryIds(context: DomainContext, staleAfterSeconds: number, limit: number): Promise<string[]> {
  const rows = await context.db
    .selectFrom('aisummaries')
    .innerJoin('transcribes', 'transcribes.id', 'aisummaries.transcribe_id')
    .select('aisummaries.id')
    .where('aisummaries.status', '=', 'progressing')
    .where('aisummaries.tm_delete', 'is', null)
    .where('transcribes.status', '=', 'done')
    .where((where) =>
      where.or([where('aisummaries.tm_generate', 'is', null), where('aisummaries.tm_generate', '<', sql<string>`now() - make_interval(secs => ${staleAfterSeconds})`)]),
    )
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

/** The progressing summaries of a transcription (it has just ended). */
export async function findProgressingAisummaryIds(context: DomainContext, transcribeId: string): Promise<string[]> {
  const rows = await context.db
    .selectFrom('aisummaries')
    .select('id')
    .where('transcribe_id', '=', transcribeId)
    .where('status', '=', 'progressing')
    .where('tm_delete', 'is', null)
    .execute();
  return rows.map((row) => row.id);
}

export async function getAisummary(context: DomainContext, customerId: string, id: string): Promise<Aisummary> {
  const row = await context.db
    .selectFrom('aisummaries')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound('AI summary');
  return toAisummary(row);
}

export async function listAisummaryPage(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<Aisummary>> {
  const query = context.db
    .selectFrom('aisummaries')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null);
  const list = await listPage(query, page);
  return { result: list.result.map(toAisummary), next_page_token: list.next_page_token };
}

export async function removeAisummary(context: DomainContext, customerId: string, id: string): Promise<Aisummary> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await trx
      .updateTable('aisummaries')
      .set(deletionTimestamps())
      .where('id', '=', id)
      .where('customer_id', '=', customerId)
      .where('tm_delete', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound('AI summary');
    const summary = toAisummary(row);
    await emit('summary_deleted', customerId, summary);
    return summary;
  });
}
