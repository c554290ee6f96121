/**
 * WebSocket topics: `customer_id:<customer id>:<resource>[:<resource id>]`. An event's topic
 * is built from its customer, its resource (the event type up to the first `_`) and the
 * resource's id; a subscription matches when its segments are a prefix of the event topic's
 * segments (so `customer_id:<id>:ai` does not match aicall events).
 */

/** The topic of an event, or undefined when the event names no customer. */
export function eventTopic(type: string, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as { customer_id?: unknown; id?: unknown; call_id?: unknown };
  if (typeof record.customer_id !== 'string') return undefined;
  const resource = type.split('_')[0];
  const resourceId = resourceIdOf(type, record);
  const id = resourceId ? `:${resourceId}` : '';
  return `customer_id:${record.customer_id.toLowerCase()}:${resource}${id.toLowerCase()}`;
}

/** The id of the resource an event is about: its `id`, or for a call's DTMF event (no id of its own) the call's. */
export function resourceIdOf(type: string, record: { id?: unknown; call_id?: unknown }): string | undefined {
  if (typeof record.id === 'string') return record.id;
  if (type.startsWith('call_') && typeof record.call_id === 'string') return record.call_id;
  return undefined;
}

/** Whether a subscription topic matches an event topic (segment prefix). */
export function topicMatches(subscription: string, topic: string): boolean {
  const wanted = subscription.toLowerCase().split(':');
  const actual = topic.split(':');
  if (wanted.length > actual.length) return false;
  return wanted.every((segment, index) => segment === actual[index]);
}

/** The customer a subscription topic is about. */
export function topicCustomerId(subscription: string): string | undefined {
  const [scope, id] = subscription.split(':');
  return scope === 'customer_id' && id ? id.toLowerCase() : undefined;
}
