import {
  appError,
  creationTimestamps,
  deletionTimestamps,
  flowFieldsSchema,
  jsonb,
  listPage,
  newId,
  toApiTimestamp,
  updateTimestamps,
  validateActions,
  type Action,
  type Flow,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { z } from 'zod';
import type { FlowManagerDb, FlowsTable } from '../../db/tables.ts';
import { checkPlayActions } from '../calls/media-url-guard.ts';
import { checkActionReferences } from './action-references.ts';
import { published, type DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';

export type FlowRow = Selectable<FlowsTable>;

export function toFlow(row: FlowRow): Flow {
  return {
    id: row.id,
    customer_id: row.customer_id,
    type: 'flow',
    name: row.name,
    detail: row.detail,
    actions: row.actions,
    on_complete_flow_id: row.on_complete_flow_id,
    tm_create: toApiTimestamp(row.tm_create),
    tm_update: toApiTimestamp(row.tm_update),
    tm_delete: row.tm_delete ? toApiTimestamp(row.tm_delete) : null,
  };
}

/** Validates a flow's actions; a bad one is a 400 naming its position and type. */
export function checkedActions(inputs: unknown[]): Action[] {
  const result = validateActions(inputs, newId);
  if (result.actions) return result.actions;
  const message = result.problems.map((problem) => `actions[${problem.index}] (${problem.type}): ${problem.message}`).join('; ');
  throw appError('VALIDATION_FAILED', `Invalid flow actions: ${message}`, { problems: result.problems });
}

export async function findFlow(db: FlowManagerDb, customerId: string, id: string): Promise<FlowRow | undefined> {
  return db
    .selectFrom('flows')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
}

export async function createFlow(context: DomainContext, customerId: string, body: z.input<typeof flowFieldsSchema>): Promise<Flow> {
  const fields = flowFieldsSchema.parse(body);
  const actions = checkedActions(fields.actions);
  await checkPlayActions(context.outbound, actions);
  await checkActionReferences(context, customerId, actions);
  if (fields.on_complete_flow_id) await getFlow(context, customerId, fields.on_complete_flow_id);
  const row = await context.db
    .insertInto('flows')
    .values({
      id: newId(),
      customer_id: customerId,
      name: fields.name,
      detail: fields.detail,
      actions: jsonb(actions),
      on_complete_flow_id: fields.on_complete_flow_id,
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return published(context, 'flow_created', toFlow(row));
}

export async function getFlow(context: DomainContext, customerId: string, id: string): Promise<Flow> {
  const row = await findFlow(context.db, customerId, id);
  if (!row) throw notFound('Flow');
  return toFlow(row);
}

export async function listFlows(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<Flow>> {
  const query = context.db.selectFrom('flows').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page, { project: toFlow });
}

export async function updateFlow(
  context: DomainContext,
  customerId: string,
  id: string,
  body: z.input<typeof flowFieldsSchema>,
): Promise<Flow> {
  const fields = flowFieldsSchema.parse(body);
  const actions = checkedActions(fields.actions);
  await checkPlayActions(context.outbound, actions);
  await checkActionReferences(context, customerId, actions);
  if (fields.on_complete_flow_id) await getFlow(context, customerId, fields.on_complete_flow_id);
  const row = await context.db
    .updateTable('flows')
    .set({
      name: fields.name,
      detail: fields.detail,
      actions: jsonb(actions),
      on_complete_flow_id: fields.on_complete_flow_id,
      ...updateTimestamps(),
    })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound('Flow');
  return published(context, 'flow_updated', toFlow(row));
}

export async function deleteFlow(context: DomainContext, customerId: string, id: string): Promise<Flow> {
  const row = await context.db
    .updateTable('flows')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound('Flow');
  return published(context, 'flow_deleted', toFlow(row));
}
