import {
  creationTimestamps,
  deletionTimestamps,
  listPage,
  newId,
  type Aisummary,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AisummariesTable } from '../../db/tables.ts';
import { withEvents } from '../../events/event-publisher.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';

type AisummaryRow = Selectable<AisummariesTable>;

/** The public form of a summary. */
export function toAisummary(row: AisummaryRow): Aisummary {
  return {
    id: row.id,
    customer_id: row.customer_id,
    activeflow_id: row.activeflow_id,
    on_end_flow_id: row.on_end_flow_id,
    reference_type: row.reference_type as Aisummary['reference_type'],
    reference_id: row.reference_id,
    status: row.status as Aisummary['status'],
    language: row.language,
    content: row.content,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/** Fields of a new summary record (generation fills `content` later). */
export interface NewAisummary {
  customer_id: string;
  activeflow_id?: string | null;
  on_end_flow_id?: string | null;
  reference_type: Aisummary['reference_type'];
  reference_id: string;
  language?: string;
}

/** Creates a summary record in `progressing` and publishes `summary_created`. */
export async function createAisummary(context: DomainContext, fields: NewAisummary): Promise<Aisummary> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await trx
      .insertInto('aisummaries')
      .values({
        id: newId(),
        customer_id: fields.customer_id,
        activeflow_id: fields.activeflow_id ?? null,
        on_end_flow_id: fields.on_end_flow_id ?? null,
        reference_type: fields.reference_type,
        reference_id: fields.reference_id,
        status: 'progressing',
        language: fields.language ?? '',
        content: '',
        ...creationTimestamps(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const summary = toAisummary(row);
    await emit('summary_created', summary.customer_id, summary);
    return summary;
  });
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
