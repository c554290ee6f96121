import { creationTimestamps, deletionTimestamps, jsonb, listPage, preparedQuery, updateTimestamps, type ListQuery, type TurnConfig, type VadConfig } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AiManagerDb, AisTable } from '../../db/tables.ts';

export type AiRow = Selectable<AisTable>;

/** Every stored field of an AI but its id, owner and timestamps. */
export interface AiRowFields {
  name: string;
  detail: string;
  engine_model: string;
  parameter: Record<string, unknown>;
  engine_key_encrypted: string | null;
  init_prompt: string;
  tts_type: string;
  tts_voice_id: string;
  stt_type: string;
  stt_language: string;
  tool_names: string[];
  vad_config: VadConfig;
  smart_turn_enabled: boolean;
  turn_config: TurnConfig;
  media_transport: string;
  knowledgebase_ids: string[];
  fallback_engine_model: string;
  fallback_engine_key_encrypted: string | null;
  fallback_tts_type: string;
  fallback_tts_voice_id: string;
  no_input_timeout: number;
  no_input_max: number;
}

function toColumns(fields: AiRowFields) {
  return {
    ...fields,
    parameter: jsonb(fields.parameter),
    tool_names: jsonb(fields.tool_names),
    vad_config: jsonb(fields.vad_config),
    turn_config: jsonb(fields.turn_config),
    knowledgebase_ids: jsonb(fields.knowledgebase_ids),
  };
}

/** What owns an inline AI (see inline-ai-repository.ts); absent for an AI of `/v1.0/ais`. */
export interface InlineOwner {
  type: string;
  id: string;
  actionId: string;
}

export async function insertAi(db: AiManagerDb, id: string, customerId: string, fields: AiRowFields, inline?: InlineOwner): Promise<AiRow> {
  const owner = inline ? { inline_owner_type: inline.type, inline_owner_id: inline.id, inline_action_id: inline.actionId } : {};
  return db
    .insertInto('ais')
    .values({ id, customer_id: customerId, ...toColumns(fields), ...owner, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const findAiQuery = preparedQuery(['id', 'customerId'], (db: AiManagerDb, { id, customerId }) =>
  db.selectFrom('ais').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null),
);

/** A live AI of this customer; another customer's AI is "not there". Compiled once (GET /ais/{id} is hot). */
export async function findAi(db: AiManagerDb, customerId: string, id: string): Promise<AiRow | undefined> {
  return (await findAiQuery(db, { id, customerId }))[0];
}

/** Locks the row for a read-modify-write (PUT keeps fields the body leaves out). */
export async function findAiForUpdate(db: AiManagerDb, customerId: string, id: string): Promise<AiRow | undefined> {
  return db
    .selectFrom('ais')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

export async function replaceAi(db: AiManagerDb, customerId: string, id: string, fields: AiRowFields): Promise<AiRow | undefined> {
  return db
    .updateTable('ais')
    .set({ ...toColumns(fields), ...updateTimestamps() })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes an AI of `/v1.0/ais` (an inline AI goes with its owner, never through this). */
export async function deleteAi(db: AiManagerDb, customerId: string, id: string): Promise<AiRow | undefined> {
  return db
    .updateTable('ais')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .where('inline_owner_id', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** The customer's AIs of `/v1.0/ais`; inline AIs (the settings of flow actions) are not listed. */
export async function listAis(db: AiManagerDb, customerId: string, page: ListQuery) {
  const query = db.selectFrom('ais').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null).where('inline_owner_id', 'is', null);
  return listPage(query, page);
}
