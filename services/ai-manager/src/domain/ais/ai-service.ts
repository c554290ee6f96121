import { appError, defaultNoInputMax, newId, type Ai, type AiFields, type ListQuery, type ListResponse } from '@avp/shared';
import type { AiManagerDb } from '../../db/tables.ts';
import { withEvents } from '../../events/event-publisher.ts';
import { findKnowledgebasesForShare } from '../knowledgebases/knowledgebase-repository.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { fallbackColumns, fallbackView } from './ai-fallback.ts';
import { deleteAi, findAi, findAiForUpdate, insertAi, listAis, replaceAi, type AiRow, type AiRowFields } from './ai-repository.ts';

/** The public form of an AI: every field but the engine key, which only shows as `engine_key_set`. */
export function toAi(row: AiRow): Ai {
  return {
    id: row.id,
    customer_id: row.customer_id,
    name: row.name,
    detail: row.detail,
    engine_model: row.engine_model,
    parameter: row.parameter,
    engine_key_set: row.engine_key_encrypted !== null,
    init_prompt: row.init_prompt,
    tts_type: row.tts_type as Ai['tts_type'],
    tts_voice_id: row.tts_voice_id,
    stt_type: row.stt_type as Ai['stt_type'],
    stt_language: row.stt_language,
    tool_names: row.tool_names as Ai['tool_names'],
    vad_config: row.vad_config,
    smart_turn_enabled: row.smart_turn_enabled,
    turn_config: row.turn_config,
    media_transport: row.media_transport as Ai['media_transport'],
    knowledgebase_ids: row.knowledgebase_ids,
    ...fallbackView(row),
    no_input_timeout: row.no_input_timeout,
    no_input_max: row.no_input_max,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/** Set by fallbackColumns (PUT keeps them when left out). */
type FallbackFields = 'fallback_engine_model' | 'fallback_engine_key_encrypted' | 'fallback_tts_type' | 'fallback_tts_voice_id';

/** Kept by `PUT` when left out. */
type KeptFields = 'engine_key_encrypted' | 'vad_config' | 'smart_turn_enabled' | 'turn_config' | 'media_transport' | 'knowledgebase_ids' | 'no_input_timeout' | 'no_input_max';

function commonFields(fields: AiFields): Omit<AiRowFields, KeptFields | FallbackFields> {
  return {
    name: fields.name,
    detail: fields.detail,
    engine_model: fields.engine_model,
    parameter: fields.parameter,
    init_prompt: fields.init_prompt,
    tts_type: fields.tts_type,
    tts_voice_id: fields.tts_voice_id,
    stt_type: fields.stt_type,
    stt_language: fields.stt_language,
    tool_names: fields.tool_names,
  };
}

/**
 * The knowledge bases an AI is to search, lower-cased, each a live knowledge base of the
 * customer (else 404, as for a missing one), locked until the AI is written so none is
 * deleted in between.
 */
async function checkedKnowledgebaseIds(trx: AiManagerDb, customerId: string, ids: readonly string[]): Promise<string[]> {
  const wanted = ids.map((id) => id.toLowerCase());
  const found = new Set((await findKnowledgebasesForShare(trx, customerId, wanted)).map((row) => row.id));
  const missing = wanted.filter((id) => !found.has(id));
  if (missing.length > 0) throw appError('RESOURCE_NOT_FOUND', `No knowledge base with the id ${missing.join(', ')}.`);
  return wanted;
}

/** Encrypts an engine key bound to its AI; an empty key means "none". */
function sealEngineKey(context: DomainContext, aiId: string, engineKey: string): string | null {
  return engineKey === '' ? null : context.secrets.encrypt(engineKey, aiId);
}

/** The stored fields of a new AI `id`: defaults for what the body leaves out, the keys sealed. */
export async function newAiRowFields(context: DomainContext, trx: AiManagerDb, customerId: string, id: string, fields: AiFields): Promise<AiRowFields> {
  return {
    ...commonFields(fields),
    engine_key_encrypted: sealEngineKey(context, id, fields.engine_key ?? ''),
    vad_config: fields.vad_config ?? {},
    smart_turn_enabled: fields.smart_turn_enabled ?? false,
    turn_config: fields.turn_config ?? {},
    media_transport: fields.media_transport ?? '',
    knowledgebase_ids: await checkedKnowledgebaseIds(trx, customerId, fields.knowledgebase_ids ?? []),
    ...fallbackColumns(context, id, fields),
    no_input_timeout: fields.no_input_timeout ?? 0,
    no_input_max: fields.no_input_max ?? defaultNoInputMax,
  };
}

/** The stored fields replacing the AI `current` by `PUT`'s rules (see updateAi). */
export async function replacedAiRowFields(context: DomainContext, trx: AiManagerDb, customerId: string, current: AiRow, fields: AiFields): Promise<AiRowFields> {
  const id = current.id;
  return {
    ...commonFields(fields),
    engine_key_encrypted: fields.engine_key === undefined ? current.engine_key_encrypted : sealEngineKey(context, id, fields.engine_key),
    vad_config: fields.vad_config ?? current.vad_config,
    smart_turn_enabled: fields.smart_turn_enabled ?? current.smart_turn_enabled,
    turn_config: fields.turn_config ?? current.turn_config,
    media_transport: fields.media_transport ?? current.media_transport,
    knowledgebase_ids:
      fields.knowledgebase_ids === undefined ? current.knowledgebase_ids : await checkedKnowledgebaseIds(trx, customerId, fields.knowledgebase_ids),
    ...fallbackColumns(context, id, fields, current),
    no_input_timeout: fields.no_input_timeout ?? current.no_input_timeout,
    no_input_max: fields.no_input_max ?? current.no_input_max,
  };
}

export async function createAi(context: DomainContext, customerId: string, fields: AiFields): Promise<Ai> {
  const id = newId();
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await insertAi(trx, id, customerId, await newAiRowFields(context, trx, customerId, id, fields));
    const ai = toAi(row);
    await emit('ai_created', customerId, ai);
    return ai;
  });
}

/**
 * An AI of the customer's, inline ones included: what a session runs (an inline AI is the
 * settings of a flow's action, run exactly like a named AI).
 */
export async function getAi(context: DomainContext, customerId: string, id: string): Promise<Ai> {
  const row = await findAi(context.db, customerId, id);
  if (!row) throw notFound('AI');
  return toAi(row);
}

/**
 * An AI of `/v1.0/ais`: an inline AI is "not there" (404 like a missing one), so it can be
 * neither read through `/v1.0/ais` nor named by `ai_id` in another action.
 */
export async function getNamedAi(context: DomainContext, customerId: string, id: string): Promise<Ai> {
  const row = await findAi(context.db, customerId, id);
  if (!row || row.inline_owner_id !== null) throw notFound('AI');
  return toAi(row);
}

export async function listAiPage(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<Ai>> {
  const list = await listAis(context.db, customerId, page);
  return { result: list.result.map(toAi), next_page_token: list.next_page_token };
}

/**
 * Replaces every mutable field. Some fields keep their stored value when the body leaves
 * them out, so a client that does not know them cannot wipe them: `engine_key` (write-only,
 * a client cannot send back what it never sees; `""` removes it), `vad_config`,
 * `smart_turn_enabled`, `turn_config`, `media_transport`, `knowledgebase_ids` (`[]`
 * removes every link), the four fallback fields, `no_input_timeout` and `no_input_max`.
 */
export async function updateAi(context: DomainContext, customerId: string, id: string, fields: AiFields): Promise<Ai> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const current = await findAiForUpdate(trx, customerId, id);
    // An inline AI changes with its flow's action only.
    if (!current || current.inline_owner_id !== null) throw notFound('AI');
    const row = await replaceAi(trx, customerId, id, await replacedAiRowFields(context, trx, customerId, current, fields));
    if (!row) throw notFound('AI');
    const ai = toAi(row);
    await emit('ai_updated', customerId, ai);
    return ai;
  });
}

export async function removeAi(context: DomainContext, customerId: string, id: string): Promise<Ai> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await deleteAi(trx, customerId, id);
    if (!row) throw notFound('AI');
    const ai = toAi(row);
    await emit('ai_deleted', customerId, ai);
    return ai;
  });
}

/**
 * The decrypted engine key of an AI, for the session that runs it (never for an API
 * response). Undefined when none is stored.
 */
export async function readEngineKey(context: DomainContext, customerId: string, id: string): Promise<string | undefined> {
  const row = await findAi(context.db, customerId, id);
  if (!row) throw notFound('AI');
  return row.engine_key_encrypted === null ? undefined : context.secrets.decrypt(row.engine_key_encrypted, id);
}
