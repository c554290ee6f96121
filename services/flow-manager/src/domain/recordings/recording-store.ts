import { creationTimestamps, currentTimestamp, deletionTimestamps, listPage, newId, toApiTimestamp, updateTimestamps, type ListQuery, type ListResponse, type Recording, type RecordingStatus } from '@avp/shared';
import type { Selectable, Updateable } from 'kysely';
import type { FlowManagerDb, RecordingsTable } from '../../db/tables.ts';

export type RecordingRow = Selectable<RecordingsTable>;

export function toRecording(row: RecordingRow): Recording {
  const timestamp = (value: string | null) => (value ? toApiTimestamp(value) : null);
  return {
    id: row.id,
    customer_id: row.customer_id,
    reference_type: 'call',
    reference_id: row.reference_id,
    status: row.status as RecordingStatus,
    format: 'wav',
    duration_ms: row.duration_ms,
    failure_reason: row.failure_reason,
    tm_start: timestamp(row.tm_start),
    tm_end: timestamp(row.tm_end),
    tm_create: toApiTimestamp(row.tm_create),
    tm_update: toApiTimestamp(row.tm_update),
    tm_delete: timestamp(row.tm_delete),
  };
}

export async function insertRecording(db: FlowManagerDb, input: { customerId: string; callId: string }): Promise<RecordingRow> {
  return db
    .insertInto('recordings')
    .values({
      id: newId(),
      customer_id: input.customerId,
      reference_type: 'call',
      reference_id: input.callId,
      status: 'recording',
      format: 'wav',
      duration_ms: 0,
      failure_reason: '',
      tm_start: currentTimestamp(),
      tm_end: null,
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A recording by id, deleted ones included (an ending recording may have been deleted meanwhile). */
export async function findRecording(db: FlowManagerDb, id: string): Promise<RecordingRow | undefined> {
  return db.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The customer's recording; another customer's is not found, like a missing or deleted one. */
export async function findCustomerRecording(db: FlowManagerDb, customerId: string, id: string): Promise<RecordingRow | undefined> {
  return db.selectFrom('recordings').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null).executeTakeFirst();
}

export async function listRecordings(db: FlowManagerDb, customerId: string, page: ListQuery): Promise<ListResponse<Recording>> {
  const query = db.selectFrom('recordings').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page, { project: toRecording });
}

/** The call's recordings that still record. */
export async function runningRecordingsOfCall(db: FlowManagerDb, callId: string): Promise<RecordingRow[]> {
  return db.selectFrom('recordings').selectAll().where('reference_type', '=', 'call').where('reference_id', '=', callId).where('status', '=', 'recording').execute();
}

/** Changes a recording only while its status is one of `from`; undefined when it was not. */
export async function updateRecording(
  db: FlowManagerDb,
  id: string,
  from: RecordingStatus[],
  values: Updateable<RecordingsTable>,
): Promise<RecordingRow | undefined> {
  return db
    .updateTable('recordings')
    .set({ ...values, ...updateTimestamps() })
    .where('id', '=', id)
    .where('status', 'in', from)
    .returningAll()
    .executeTakeFirst();
}

export async function markRecordingDeleted(db: FlowManagerDb, id: string): Promise<RecordingRow> {
  return db.updateTable('recordings').set(deletionTimestamps()).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}
