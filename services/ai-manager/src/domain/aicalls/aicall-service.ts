import {
  appError,
  isUniqueViolation,
  newId,
  type Aicall,
  type AicallCreate,
  type AicallReferenceType,
  type AicallStatus,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import { withEvents, type EmitEvent } from '../../events/event-publisher.ts';
import type { AiManagerDb } from '../../db/tables.ts';
import { findAi } from '../ais/ai-repository.ts';
import { deleteReleasedInlineAi } from '../ais/inline-ai-repository.ts';
import { findTeam } from '../teams/team-repository.ts';
import { teamNotFound } from '../teams/team-service.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { assertTransition } from './aicall-status.ts';
import {
  deleteAicall,
  findAicall,
  insertAicall,
  listAicalls,
  updateAicallStatus,
  type AicallFilters,
  type AicallRow,
} from './aicall-repository.ts';

/** The public form of an AIcall. */
export function toAicall(row: AicallRow): Aicall {
  return {
    id: row.id,
    customer_id: row.customer_id,
    assistance_type: row.assistance_type as Aicall['assistance_type'],
    assistance_id: row.assistance_id,
    ai_engine_model: row.ai_engine_model,
    ai_tts_type: row.ai_tts_type,
    ai_tts_voice_id: row.ai_tts_voice_id,
    ai_stt_type: row.ai_stt_type,
    ai_vad_config: row.ai_vad_config,
    ai_smart_turn_enabled: row.ai_smart_turn_enabled,
    ai_turn_config: row.ai_turn_config,
    ai_fallback_engine_model: row.ai_fallback_engine_model,
    ai_fallback_tts_type: row.ai_fallback_tts_type,
    ai_fallback_tts_voice_id: row.ai_fallback_tts_voice_id,
    ai_no_input_timeout: row.ai_no_input_timeout,
    ai_no_input_max: row.ai_no_input_max,
    duration: row.duration,
    stt_language: row.stt_language,
    parameter: row.parameter,
    current_member_id: row.current_member_id,
    activeflow_id: row.activeflow_id,
    reference_type: row.reference_type as Aicall['reference_type'],
    reference_id: row.reference_id,
    status: row.status as AicallStatus,
    tm_end: row.tm_end,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/**
 * Creates the AIcall record in `initiating` with a snapshot of its AI (voice settings only
 * for calls) and publishes `aicall_status_initiating`. Starting the pipeline comes with the
 * session issue. A second live session for the same call or conversation is a 409.
 * `limits.duration`: the session's time limit in seconds (`ai_talk.duration`; voice sessions only).
 * `limits.team`: a team's session (`assistance_id` is the team's): the snapshot is of the
 * starting member's AI, with the team's parameter over the AI's.
 */
export async function createAicall(
  context: DomainContext,
  customerId: string,
  fields: Omit<AicallCreate, 'reference_type'> & { reference_type: AicallReferenceType },
  limits: { duration?: number; team?: { memberId: string; aiId: string; parameter: Record<string, unknown> } } = {},
): Promise<Aicall> {
  try {
    return await withEvents(context.db, context.events, async (trx, emit) => {
      const team = limits.team ?? (fields.assistance_type === 'team' ? await startMemberOf(trx, customerId, fields.assistance_id) : undefined);
      const ai = await findAi(trx, customerId, team?.aiId ?? fields.assistance_id);
      if (!ai) throw notFound('AI');
      const voice = fields.reference_type === 'call' || fields.reference_type === 'web_session';
      const row = await insertAicall(trx, {
        id: newId(),
        customer_id: customerId,
        assistance_type: fields.assistance_type,
        assistance_id: team ? fields.assistance_id.toLowerCase() : ai.id,
        ...(team ? { current_member_id: team.memberId, current_ai_id: ai.id } : {}),
        ai_engine_model: ai.engine_model,
        ai_tts_type: voice ? ai.tts_type : '',
        ai_tts_voice_id: voice ? ai.tts_voice_id : '',
        ai_stt_type: voice ? ai.stt_type : '',
        ai_vad_config: voice ? ai.vad_config : {},
        ai_smart_turn_enabled: voice ? ai.smart_turn_enabled : false,
        ai_turn_config: voice ? ai.turn_config : {},
        ai_fallback_engine_model: ai.fallback_engine_model,
        ai_fallback_tts_type: voice ? ai.fallback_tts_type : '',
        ai_fallback_tts_voice_id: voice ? ai.fallback_tts_voice_id : '',
        ai_no_input_timeout: voice ? ai.no_input_timeout : 0,
        ai_no_input_max: ai.no_input_max,
        duration: voice ? (limits.duration ?? 0) : 0,
        stt_language: ai.stt_language,
        parameter: team ? { ...ai.parameter, ...team.parameter } : ai.parameter,
        activeflow_id: fields.activeflow_id ?? null,
        reference_type: fields.reference_type,
        reference_id: fields.reference_id ?? null,
      });
      const aicall = toAicall(row);
      await emit('aicall_status_initiating', customerId, aicall);
      return aicall;
    });
  } catch (error) {
    if (isUniqueViolation(error, 'aicalls_active_reference_key')) {
      throw appError('RESOURCE_ALREADY_EXISTS', 'A live AIcall already exists for this reference.');
    }
    throw error;
  }
}

/** A team's start member, as createAicall takes it (a team that is not the customer's is a 404). */
async function startMemberOf(db: AiManagerDb, customerId: string, teamId: string): Promise<{ memberId: string; aiId: string; parameter: Record<string, unknown> }> {
  const team = await findTeam(db, customerId, teamId.toLowerCase());
  const member = team?.members.find((entry) => entry.id === team.start_member_id);
  if (!team || !member) throw teamNotFound();
  return { memberId: member.id, aiId: member.ai_id, parameter: team.parameter };
}

export async function getAicall(context: DomainContext, customerId: string, id: string): Promise<Aicall> {
  const row = await findAicall(context.db, id, customerId);
  if (!row) throw notFound('AIcall');
  return toAicall(row);
}

export async function listAicallPage(
  context: DomainContext,
  customerId: string,
  filters: AicallFilters,
  page: ListQuery,
): Promise<ListResponse<Aicall>> {
  const list = await listAicalls(context.db, customerId, filters, page);
  return { result: list.result.map(toAicall), next_page_token: list.next_page_token };
}

async function moveStatus(trx: AiManagerDb, emit: EmitEvent, current: AicallRow, to: AicallStatus): Promise<AicallRow> {
  assertTransition(current.status as AicallStatus, to);
  const row = await updateAicallStatus(trx, current.id, current.status as AicallStatus, to);
  if (!row) throw appError('INVALID_STATE', 'The AIcall changed state meanwhile; retry.');
  await emit(`aicall_status_${to}`, row.customer_id, toAicall(row));
  // The last session of an inline AI whose activeflow or outgoing calls ended takes it away.
  if (to === 'terminated' && row.assistance_type === 'ai') await deleteReleasedInlineAi(trx, row.assistance_id);
  return row;
}

/**
 * Moves an AIcall to a new status (the pipeline and flow-manager drive this over the bus)
 * and publishes `aicall_status_<status>`. A customer id restricts it to that customer's.
 * `repeatable`: a move to the status the AIcall already has is a retried report, answered
 * with the AIcall unchanged (otherwise it is a 409 like any forbidden move).
 */
export async function changeAicallStatus(
  context: DomainContext,
  id: string,
  to: AicallStatus,
  customerId?: string,
  options: { repeatable?: boolean } = {},
): Promise<Aicall> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const current = await findAicall(trx, id, customerId);
    if (!current) throw notFound('AIcall');
    if (options.repeatable && current.status === to) return toAicall(current);
    return toAicall(await moveStatus(trx, emit, current, to));
  });
}

/**
 * Ends a session: a live one passes through `terminating` (where the session issue stops the
 * pipeline) to `terminated` with `tm_end`, each step with its event. An AIcall already
 * terminated comes back unchanged.
 */
export async function terminateAicall(context: DomainContext, customerId: string, id: string): Promise<Aicall> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    // Locked: a hang-up and the pipeline's end often terminate the same AIcall at once; the
    // second waits for the first and finds it terminated, instead of failing and being retried.
    let current = await findAicall(trx, id, customerId, { forUpdate: true });
    if (!current) throw notFound('AIcall');
    if (current.status === 'terminated') return toAicall(current);
    if (current.status !== 'terminating') current = await moveStatus(trx, emit, current, 'terminating');
    return toAicall(await moveStatus(trx, emit, current, 'terminated'));
  });
}

/** Soft-deletes the record (it does not end a running session). */
export async function removeAicall(context: DomainContext, customerId: string, id: string): Promise<Aicall> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const row = await deleteAicall(trx, customerId, id);
    if (!row) throw notFound('AIcall');
    const aicall = toAicall(row);
    await emit('aicall_deleted', customerId, aicall);
    return aicall;
  });
}
