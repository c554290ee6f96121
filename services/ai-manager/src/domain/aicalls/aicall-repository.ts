import {
  creationTimestamps,
  currentTimestamp,
  deletionTimestamps,
  jsonb,
  listPage,
  preparedQuery,
  updateTimestamps,
  type AicallStatus,
  type ListQuery,
  type TurnConfig,
  type VadConfig,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AicallsTable, AiManagerDb } from '../../db/tables.ts';

export type AicallRow = Selectable<AicallsTable>;

export interface NewAicall {
  id: string;
  customer_id: string;
  assistance_type: string;
  assistance_id: string;
  ai_engine_model: string;
  ai_tts_type: string;
  ai_tts_voice_id: string;
  ai_stt_type: string;
  ai_vad_config: VadConfig;
  ai_smart_turn_enabled: boolean;
  ai_turn_config: TurnConfig;
  ai_fallback_engine_model: string;
  ai_fallback_tts_type: string;
  ai_fallback_tts_voice_id: string;
  ai_no_input_timeout: number;
  ai_no_input_max: number;
  duration: number;
  stt_language: string;
  parameter: Record<string, unknown>;
  activeflow_id: string | null;
  reference_type: string;
  reference_id: string | null;
  /** A team's session: the starting member and its AI. */
  current_member_id?: string;
  current_ai_id?: string;
}

export async function insertAicall(db: AiManagerDb, fields: NewAicall): Promise<AicallRow> {
  return db
    .insertInto('aicalls')
    .values({
      ...fields,
      ai_vad_config: jsonb(fields.ai_vad_config),
      ai_turn_config: jsonb(fields.ai_turn_config),
      parameter: jsonb(fields.parameter),
      status: 'initiating',
      ...creationTimestamps(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Hot reads (sessions, reports and the API find their AIcall): compiled once, described once per connection.
const findAicallQuery = preparedQuery(['id'], (db: AiManagerDb, { id }) => db.selectFrom('aicalls').selectAll().where('id', '=', id).where('tm_delete', 'is', null));
const findCustomerAicallQuery = preparedQuery(['id', 'customerId'], (db: AiManagerDb, { id, customerId }) =>
  db.selectFrom('aicalls').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);

/** A live AIcall; with a customer id, only that customer's. */
export async function findAicall(db: AiManagerDb, id: string, customerId?: string, options: { forUpdate?: boolean } = {}): Promise<AicallRow | undefined> {
  if (!options.forUpdate) return (await (customerId === undefined ? findAicallQuery(db, { id }) : findCustomerAicallQuery(db, { id, customerId })))[0];
  let query = db.selectFrom('aicalls').selectAll().where('id', '=', id).where('tm_delete', 'is', null);
  if (customerId !== undefined) query = query.where('customer_id', '=', customerId);
  // Inside a transaction: holds the row until it commits, so concurrent status changes queue up.
  if (options.forUpdate) query = query.forUpdate();
  return query.executeTakeFirst();
}

/**
 * Whether the AIcall is the customer's. Internal routes that name an AIcall and a customer
 * (streamed text, usage) check it; `deleted: true` also counts a soft-deleted record, since a
 * session keeps running (and costing) after its record is deleted.
 */
export async function aicallOwnedBy(db: AiManagerDb, id: string, customerId: string, options: { deleted?: boolean } = {}): Promise<boolean> {
  let query = db.selectFrom('aicalls').select('id').where('id', '=', id).where('customer_id', '=', customerId);
  if (!options.deleted) query = query.where('tm_delete', 'is', null);
  return (await query.executeTakeFirst()) !== undefined;
}

/**
 * Moves an AIcall from `from` to `to` only if it is still in `from` (a concurrent change
 * wins and this returns undefined). `terminated` stamps `tm_end`.
 */
export async function updateAicallStatus(
  db: AiManagerDb,
  id: string,
  from: AicallStatus,
  to: AicallStatus,
): Promise<AicallRow | undefined> {
  const timestamps = updateTimestamps();
  return db
    .updateTable('aicalls')
    .set({ status: to, ...timestamps, ...(to === 'terminated' ? { tm_end: currentTimestamp() } : {}) })
    .where('id', '=', id)
    .where('status', '=', from)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteAicall(db: AiManagerDb, customerId: string, id: string): Promise<AicallRow | undefined> {
  return db
    .updateTable('aicalls')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export interface AicallFilters {
  status?: string;
  reference_type?: string;
  reference_id?: string;
}

export async function listAicalls(db: AiManagerDb, customerId: string, filters: AicallFilters, page: ListQuery) {
  let query = db.selectFrom('aicalls').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  if (filters.status !== undefined) query = query.where('status', '=', filters.status);
  if (filters.reference_type !== undefined) query = query.where('reference_type', '=', filters.reference_type);
  if (filters.reference_id !== undefined) query = query.where('reference_id', '=', filters.reference_id);
  return listPage(query, page);
}

/** Bumps `tm_update` (the send cooldown counts from it). */
export async function touchAicall(db: AiManagerDb, id: string): Promise<void> {
  await db.updateTable('aicalls').set(updateTimestamps()).where('id', '=', id).execute();
}

/** Records which pipeline-manager instance runs the AIcall's pipeline. */
export async function setPipelineInstance(db: AiManagerDb, id: string, instanceId: string): Promise<void> {
  await db.updateTable('aicalls').set({ pipeline_instance_id: instanceId }).where('id', '=', id).execute();
}

/** Live AIcalls with a pipeline, and the instance running each (for the pipeline watchdog). */
export async function listLivePipelines(db: AiManagerDb) {
  return db
    .selectFrom('aicalls')
    .select(['id', 'customer_id', 'pipeline_instance_id', 'pipeline_epoch', 'activeflow_id', 'reference_type', 'reference_id'])
    .where('pipeline_instance_id', 'is not', null)
    .where('status', 'in', ['initiating', 'progressing'])
    .where('tm_delete', 'is', null)
    .execute();
}

/**
 * Takes a live AIcall whose pipeline was lost on `instanceId` off that instance: only one
 * caller gets the row back (ai-manager instances racing to end the session, or a normal end).
 */
export async function releaseLostPipeline(db: AiManagerDb, id: string, instanceId: string): Promise<AicallRow | undefined> {
  return db
    .updateTable('aicalls')
    .set({ pipeline_instance_id: null })
    .where('id', '=', id)
    .where('pipeline_instance_id', '=', instanceId)
    .where('status', 'in', ['initiating', 'progressing'])
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Crash resumption's compare-and-set: moves a live AIcall's pipeline from `from` (instance and
 * epoch, as last read) to `toInstanceId` with the next epoch. Only one caller wins (ai-manager
 * instances racing, or the session ending meanwhile); the others get undefined.
 */
export async function claimPipeline(
  db: AiManagerDb,
  id: string,
  from: { instanceId: string; epoch: number },
  toInstanceId: string,
): Promise<AicallRow | undefined> {
  return db
    .updateTable('aicalls')
    .set({ pipeline_instance_id: toInstanceId, pipeline_epoch: from.epoch + 1 })
    .where('id', '=', id)
    .where('pipeline_instance_id', '=', from.instanceId)
    .where('pipeline_epoch', '=', from.epoch)
    .where('status', 'in', ['initiating', 'progressing'])
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** The epoch of the AIcall's current pipeline (undefined: no such AIcall). */
export async function pipelineEpochOf(db: AiManagerDb, id: string): Promise<number | undefined> {
  const row = await db.selectFrom('aicalls').select('pipeline_epoch').where('id', '=', id).executeTakeFirst();
  return row?.pipeline_epoch;
}
