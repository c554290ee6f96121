import {
  creationTimestamps,
  currentTimestamp,
  listPage,
  newId,
  preparedQuery,
  toApiTimestamp,
  updateTimestamps,
  type Call,
  type CallStatus,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { CallsTable, FlowManagerDb } from '../../db/tables.ts';
import type { CallHandle } from './call-control.ts';

export type CallRow = Selectable<CallsTable>;

export function toCall(row: CallRow): Call {
  return {
    id: row.id,
    customer_id: row.customer_id,
    channel_id: row.channel_id,
    activeflow_id: row.activeflow_id,
    direction: row.direction as Call['direction'],
    source: row.source,
    destination: row.destination,
    status: row.status as CallStatus,
    hangup_by: row.hangup_by as Call['hangup_by'],
    hangup_reason: row.hangup_reason,
    tm_create: toApiTimestamp(row.tm_create),
    tm_update: toApiTimestamp(row.tm_update),
    tm_progressing: row.tm_progressing ? toApiTimestamp(row.tm_progressing) : null,
    tm_hangup: row.tm_hangup ? toApiTimestamp(row.tm_hangup) : null,
    tm_delete: row.tm_delete ? toApiTimestamp(row.tm_delete) : null,
  };
}

export function callHandle(row: CallRow): CallHandle {
  return { id: row.id, channelId: row.channel_id, source: row.source, destination: row.destination };
}

export async function insertCall(
  db: FlowManagerDb,
  input: { customerId: string; channelId: string; direction: Call['direction']; source: string; destination: string; status?: CallStatus },
): Promise<CallRow> {
  return db
    .insertInto('calls')
    .values({
      id: newId(),
      customer_id: input.customerId,
      channel_id: input.channelId,
      activeflow_id: null,
      direction: input.direction,
      source: input.source,
      destination: input.destination,
      status: input.status ?? 'ringing',
      hangup_by: '',
      hangup_reason: '',
      tm_progressing: null,
      tm_hangup: null,
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Hot reads (every ARI event and flow step finds its call): compiled once, described once per connection.
const findCallQuery = preparedQuery(['id'], (db: FlowManagerDb, { id }) => db.selectFrom('calls').selectAll().where('id', '=', id).where('tm_delete', 'is', null));
const findCustomerCallQuery = preparedQuery(['id', 'customerId'], (db: FlowManagerDb, { id, customerId }) =>
  db.selectFrom('calls').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);
const findCallByChannelQuery = preparedQuery(['channelId'], (db: FlowManagerDb, { channelId }) =>
  db.selectFrom('calls').selectAll().where('channel_id', '=', channelId).where('status', '!=', 'hangup').where('tm_delete', 'is', null).limit(1),
);

export async function findCall(db: FlowManagerDb, id: string): Promise<CallRow | undefined> {
  return (await findCallQuery(db, { id }))[0];
}

export async function findCustomerCall(db: FlowManagerDb, customerId: string, id: string): Promise<CallRow | undefined> {
  return (await findCustomerCallQuery(db, { id, customerId }))[0];
}

/** The live call on an Asterisk channel. */
export async function findCallByChannel(db: FlowManagerDb, channelId: string): Promise<CallRow | undefined> {
  return (await findCallByChannelQuery(db, { channelId }))[0];
}

export async function listCalls(db: FlowManagerDb, customerId: string, page: ListQuery): Promise<ListResponse<Call>> {
  const query = db.selectFrom('calls').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page, { project: toCall });
}

export async function listLiveCalls(db: FlowManagerDb): Promise<CallRow[]> {
  return db.selectFrom('calls').selectAll().where('status', '!=', 'hangup').where('tm_delete', 'is', null).execute();
}

export async function setCallActiveflow(db: FlowManagerDb, id: string, activeflowId: string): Promise<CallRow> {
  return db.updateTable('calls').set({ activeflow_id: activeflowId, ...updateTimestamps() }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function markCallProgressing(db: FlowManagerDb, id: string): Promise<CallRow | undefined> {
  return db
    .updateTable('calls')
    .set({ status: 'progressing', tm_progressing: currentTimestamp(), ...updateTimestamps() })
    .where('id', '=', id)
    .where('status', 'in', ['dialing', 'ringing'])
    .returningAll()
    .executeTakeFirst();
}

/** An outgoing call's far end rings: `dialing` -> `ringing` once; undefined otherwise. */
export async function markCallRinging(db: FlowManagerDb, id: string): Promise<CallRow | undefined> {
  return db.updateTable('calls').set({ status: 'ringing', ...updateTimestamps() }).where('id', '=', id).where('status', '=', 'dialing').returningAll().executeTakeFirst();
}

/** Marks a call ended once; returns undefined when it had ended already. */
export async function markCallHangup(
  db: FlowManagerDb,
  id: string,
  by: 'remote' | 'local',
  reason: string,
): Promise<CallRow | undefined> {
  return db
    .updateTable('calls')
    .set({ status: 'hangup', hangup_by: by, hangup_reason: reason, tm_hangup: currentTimestamp(), ...updateTimestamps() })
    .where('id', '=', id)
    .where('status', '!=', 'hangup')
    .returningAll()
    .executeTakeFirst();
}
