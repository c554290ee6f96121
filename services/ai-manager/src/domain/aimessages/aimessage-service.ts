import {
  appError,
  isUniqueViolation,
  newId,
  type AicallStatus,
  type Aimessage,
  type AimessageCreate,
  type AimessageIntermediate,
  type AimessageLatency,
  type ListQuery,
  type ListResponse,
  type ToolCall,
} from '@avp/shared';
import { withEvents } from '../../events/event-publisher.ts';
import { findAicall } from '../aicalls/aicall-repository.ts';
import { isLive } from '../aicalls/aicall-status.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { findAimessage, findReportedAimessage, insertAimessage, listAimessages, type AimessageRow } from './aimessage-repository.ts';

/** The public form of a message. */
export function toAimessage(row: AimessageRow): Aimessage {
  return {
    id: row.id,
    customer_id: row.customer_id,
    aicall_id: row.aicall_id,
    activeflow_id: row.activeflow_id,
    active_ai_id: row.active_ai_id,
    role: row.role as Aimessage['role'],
    content: row.content,
    direction: row.direction as Aimessage['direction'],
    tool_calls: row.tool_calls,
    tool_call_id: row.tool_call_id,
    latency: row.latency ?? null,
    tm_create: row.tm_create,
    tm_delete: row.tm_delete,
  };
}

/** A message recorded for an AIcall (from the API, or from the pipeline over the bus). */
export interface RecordedMessage {
  id?: string;
  role: Aimessage['role'];
  direction: Aimessage['direction'];
  content: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  latency?: AimessageLatency;
  /**
   * The pipeline's idempotency key of this report: a message with a key already stored on the
   * AIcall is not stored again, and the answer is the message stored the first time.
   */
  report_id?: string;
}

/**
 * Stores a message of a live AIcall and publishes `aimessage_created`. With a customer id
 * the AIcall must be that customer's (404 otherwise); a session that has ended takes no
 * more messages (409 INVALID_STATE), except a pipeline's report (`report_id`): it was made
 * while the session was live and may arrive late, after an outage the pipeline rode out.
 */
export async function recordAimessage(
  context: DomainContext,
  aicallId: string,
  message: RecordedMessage,
  customerId?: string,
): Promise<Aimessage> {
  try {
    return await storeAimessage(context, aicallId, message, customerId);
  } catch (error) {
    // The same report arrived twice at once (a retry while the first attempt was still being
    // stored): the first one's transaction won; answer with what it stored.
    if (message.report_id && isUniqueViolation(error, 'aimessages_report_key')) {
      const stored = await findReportedAimessage(context.db, aicallId, message.report_id);
      if (stored) return toAimessage(stored);
    }
    throw error;
  }
}

async function storeAimessage(context: DomainContext, aicallId: string, message: RecordedMessage, customerId?: string): Promise<Aimessage> {
  return withEvents(context.db, context.events, async (trx, emit) => {
    const aicall = await findAicall(trx, aicallId, customerId);
    if (!aicall) throw notFound('AIcall');
    if (message.report_id) {
      const stored = await findReportedAimessage(trx, aicall.id, message.report_id);
      if (stored) return toAimessage(stored);
    } else if (!isLive(aicall.status as AicallStatus)) {
      throw appError('INVALID_STATE', `The AIcall is ${aicall.status} and takes no more messages.`);
    }
    const row = await insertAimessage(trx, {
      id: message.id ?? newId(),
      customer_id: aicall.customer_id,
      aicall_id: aicall.id,
      activeflow_id: aicall.activeflow_id,
      // A team's session: the AI of the member answering now.
      active_ai_id: aicall.current_ai_id ?? aicall.assistance_id,
      role: message.role,
      content: message.content,
      direction: message.direction,
      tool_calls: message.tool_calls ?? [],
      tool_call_id: message.tool_call_id ?? '',
      latency: message.latency ?? null,
      report_id: message.report_id ?? null,
    });
    const aimessage = toAimessage(row);
    await emit('aimessage_created', aicall.customer_id, aimessage);
    return aimessage;
  });
}

/** `POST /v1.0/aimessages`: a user message into the caller's session (the pipeline picks it up later). */
export async function sendUserMessage(context: DomainContext, customerId: string, fields: AimessageCreate): Promise<Aimessage> {
  return recordAimessage(context, fields.aicall_id, { role: 'user', direction: 'outgoing', content: fields.content }, customerId);
}

export async function getAimessage(context: DomainContext, customerId: string, id: string): Promise<Aimessage> {
  const row = await findAimessage(context.db, customerId, id);
  if (!row) throw notFound('AI message');
  return toAimessage(row);
}

/** The messages of one of the caller's AIcalls, newest first; another customer's AIcall is a 404. */
export async function listAimessagePage(
  context: DomainContext,
  customerId: string,
  aicallId: string,
  page: ListQuery,
): Promise<ListResponse<Aimessage>> {
  if (!(await findAicall(context.db, aicallId, customerId))) throw notFound('AIcall');
  const list = await listAimessages(context.db, customerId, aicallId, page);
  return { result: list.result.map(toAimessage), next_page_token: list.next_page_token };
}

/**
 * Publishes a streamed piece of an assistant answer (`aimessage_intermediate`). Not stored
 * and not sent to webhooks (too chatty); WebSocket subscribers get it.
 */
export async function publishIntermediate(context: DomainContext, piece: AimessageIntermediate): Promise<void> {
  await context.events.publish([{ type: 'aimessage_intermediate', customerId: piece.customer_id, data: piece }]);
}
