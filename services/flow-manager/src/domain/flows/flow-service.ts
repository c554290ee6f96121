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
import { removeInlineAis, saveInlineAis } from './inline-ais.ts';
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
  const checked = checkedActions(fields.actions);
  await checkPlayActions(context.outbound, checked);
  await checkActionReferences(context, customerId, checked);
  if (fields.on_complete_flow_id) await getFlow(context, customerId, fields.on_complete_flow_id);
  const id = newId();
  // Inline AI settings go to ai-manager first (503 when it cannot take them: nothing is saved).
  const actions = await saveInlineAis(context, customerId, { type: 'flow', id }, checked);
  const row = await context.db
    .insertInto('flows')
    .values({
      id,
      customer_id: customerId,
      name: fields.name,
      detail: fields.detail,
      actions: jsonb(actions),
      on_complete_flow_id: fields.on_complete_flow_id,
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch(async (error: unknown) => {
      await removeInlineAis(context, customerId, { type: 'flow', id }, actions).catch(() => undefined);
      throw error;
    });
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
  const checked = checkedActions(fields.actions);
  await checkPlayActions(context.outbound, checked);
  await checkActionReferences(context, customerId, checked);
  if (fields.on_complete_flow_id) await getFlow(context, customerId, fields.on_complete_flow_id);
  // The inline AIs are saved in ai-manager before the flow, so the flow is written only if it is
  // still the version they were saved against: a replace that ran in between (its own AIs saved
  // by then) makes this one save its AIs again, and both stores end with the same, last, version.
  for (let attempt = 1; ; attempt++) {
    const current = await findFlow(context.db, customerId, id);
    if (!current) {
      // Deleted while this replace saved its inline AIs: they go too.
      if (attempt > 1) await removeInlineAis(context, customerId, { type: 'flow', id }, checked).catch(() => undefined);
      throw notFound('Flow');
    }
    const actions = await saveInlineAis(context, customerId, { type: 'flow', id }, checked, current.actions);
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
      .where('tm_update', '=', current.tm_update)
      .returningAll()
      .executeTakeFirst();
    if (row) return published(context, 'flow_updated', toFlow(row));
    if (attempt >= maxReplaceAttempts) throw appError('INVALID_STATE', 'The flow was changed by other requests meanwhile; try again.');
  }
}

/** Replaces of one flow racing each other: tries before a 409. */
const maxReplaceAttempts = 5;

/** Soft-deletes a flow; its inline AIs are deleted in ai-manager first (503 when it cannot: the flow stays). */
export async function deleteFlow(context: DomainContext, customerId: string, id: string): Promise<Flow> {
  const current = await findFlow(context.db, customerId, id);
  if (!current) throw notFound('Flow');
  await removeInlineAis(context, customerId, { type: 'flow', id }, current.actions);
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
