/**
 * WebSocket topics: `customer_id:<customer id>:<resource>[:<resource id>]`. An event's topic
 * is built from its customer, its resource (the event type up to the first `_`) and the
 * resource's id; a subscription matches when its segments are a prefix of the event topic's
 * segments (so `customer_id:<id>:ai` does not match aicall events).
 */

/** The topic of an event, or undefined when the event names no customer. */
export function eventTopic(type: string, data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as { customer_id?: unknown; id?: unknown };
  if (typeof record.customer_id !== 'string') return undefined;
  const resource = type.split('_')[0];
  const id = typeof record.id === 'string' ? `:${record.id}` : '';
  return `customer_id:${record.customer_id.toLowerCase()}:${resource}${id.toLowerCase()}`;
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
