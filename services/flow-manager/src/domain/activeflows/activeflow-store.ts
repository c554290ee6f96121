import {
  creationTimestamps,
  currentTimestamp,
  jsonb,
  listPage,
  newId,
  preparedQuery,
  toApiTimestamp,
  updateTimestamps,
  type Action,
  type Activeflow,
  type ActiveflowReferenceType,
  type ActiveflowStatus,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { ActiveflowsTable, FlowManagerDb } from '../../db/tables.ts';
import { currentAction, initialState, type ExecutionState } from './stack-machine.ts';

export type ActiveflowRow = Selectable<ActiveflowsTable>;

export function executionStateOf(row: ActiveflowRow): ExecutionState {
  return {
    stacks: row.stacks,
    current: row.current_stack_id && row.current_action_id ? { stackId: row.current_stack_id, actionId: row.current_action_id } : null,
  };
}

export function toActiveflow(row: ActiveflowRow): Activeflow {
  return {
    id: row.id,
    customer_id: row.customer_id,
    flow_id: row.flow_id,
    status: row.status as ActiveflowStatus,
    reference_type: row.reference_type as ActiveflowReferenceType,
    reference_id: row.reference_id,
    current_stack_id: row.current_stack_id,
    current_action: currentAction(executionStateOf(row)),
    stacks: row.stacks,
    variables: row.variables,
    execute_count: row.execute_count,
    end_reason: row.end_reason,
    tm_create: toApiTimestamp(row.tm_create),
    tm_update: toApiTimestamp(row.tm_update),
    tm_end: row.tm_end ? toApiTimestamp(row.tm_end) : null,
    tm_delete: row.tm_delete ? toApiTimestamp(row.tm_delete) : null,
  };
}

export interface NewActiveflow {
  id?: string;
  customerId: string;
  flowId: string | null;
  actions: Action[];
  referenceType: ActiveflowReferenceType;
  referenceId: string | null;
  variables: Record<string, string>;
}

export async function insertActiveflow(db: FlowManagerDb, input: NewActiveflow): Promise<ActiveflowRow> {
  const state = initialState(input.actions);
  const id = input.id ?? newId();
  return db
    .insertInto('activeflows')
    .values({
      id,
      customer_id: input.customerId,
      flow_id: input.flowId,
      status: 'running',
      reference_type: input.referenceType,
      reference_id: input.referenceId,
      current_stack_id: state.current?.stackId ?? null,
      current_action_id: state.current?.actionId ?? null,
      stacks: jsonb(state.stacks),
      variables: jsonb({ ...input.variables, 'voipbin.activeflow.id': id }),
      goto_counts: jsonb({}),
      execute_count: 0,
      end_reason: '',
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Hot reads (every step of a flow loads its activeflow): compiled once, described once per connection.
const findActiveflowQuery = preparedQuery(['id'], (db: FlowManagerDb, { id }) => db.selectFrom('activeflows').selectAll().where('id', '=', id).where('tm_delete', 'is', null));
const findCustomerActiveflowQuery = preparedQuery(['id', 'customerId'], (db: FlowManagerDb, { id, customerId }) =>
  db.selectFrom('activeflows').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);

export async function findActiveflow(db: FlowManagerDb, id: string): Promise<ActiveflowRow | undefined> {
  return (await findActiveflowQuery(db, { id }))[0];
}

export async function findCustomerActiveflow(db: FlowManagerDb, customerId: string, id: string): Promise<ActiveflowRow | undefined> {
  return (await findCustomerActiveflowQuery(db, { id, customerId }))[0];
}

export async function listActiveflows(db: FlowManagerDb, customerId: string, page: ListQuery): Promise<ListResponse<Activeflow>> {
  const query = db.selectFrom('activeflows').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page, { project: toActiveflow });
}

export interface ActiveflowUpdate {
  state: ExecutionState;
  status: ActiveflowStatus;
  variables: Record<string, string>;
  gotoCounts: Record<string, number>;
  executeCount: number;
  endReason?: string;
}

export async function saveActiveflow(db: FlowManagerDb, id: string, update: ActiveflowUpdate): Promise<ActiveflowRow> {
  return db
    .updateTable('activeflows')
    .set({
      status: update.status,
      current_stack_id: update.state.current?.stackId ?? null,
      current_action_id: update.state.current?.actionId ?? null,
      stacks: jsonb(update.state.stacks),
      variables: jsonb(update.variables),
      goto_counts: jsonb(update.gotoCounts),
      execute_count: update.executeCount,
      ...(update.status === 'ended' ? { end_reason: update.endReason ?? '', tm_end: currentTimestamp() } : {}),
      ...updateTimestamps(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Activeflows that were running when the process stopped (to be reconciled at start). */
export async function listUnfinishedActiveflows(db: FlowManagerDb): Promise<ActiveflowRow[]> {
  return db.selectFrom('activeflows').selectAll().where('status', '!=', 'ended').where('tm_delete', 'is', null).execute();
}
