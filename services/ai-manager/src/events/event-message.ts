import { resourceIdOf } from './topics.ts';
import type { EventMessage } from '@avp/shared';

/**
 * The JSON text of an event as webhooks and WebSocket clients receive it:
 * `{"id", "seq", "type", "data"}` (`seq` only on stored events). The same text is what a
 * webhook signs, so the id and number are covered by the signature.
 */
export function eventMessageText(event: EventMessage): string {
  const { id, seq, type, data } = event;
  return JSON.stringify({ id, ...(seq !== undefined ? { seq } : {}), type, data });
}

/**
 * The resource whose webhooks are delivered one at a time, in event order: the AIcall for an
 * AIcall's own events and for events about it (its messages: `aicall_id`), otherwise the
 * resource named by the event type and `data.id`. Events that name neither keep no order
 * (''). Different keys are delivered in parallel.
 */
export function webhookOrderingKey(type: string, data: unknown): string {
  if (typeof data !== 'object' || data === null) return '';
  const record = data as { id?: unknown; aicall_id?: unknown; call_id?: unknown };
  if (typeof record.aicall_id === 'string' && record.aicall_id !== '') return `aicall:${record.aicall_id.toLowerCase()}`;
  const id = resourceIdOf(type, record);
  if (id === undefined) return '';
  return `${type.split('_')[0]}:${id.toLowerCase()}`;
}
