import { createHmac, timingSafeEqual } from 'node:crypto';

/** Headers of a webhook delivery. */
export const webhookHeaders = {
  signature: 'x-avp-signature',
  timestamp: 'x-avp-timestamp',
  event: 'x-avp-event',
  delivery: 'x-avp-delivery',
  /** The event's stable id: the same on every attempt and in the body's `id` (drop duplicates by it). */
  eventId: 'x-avp-event-id',
} as const;

/**
 * The signature of a delivery: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>` with
 * the customer's webhook secret. Signing the timestamp too lets receivers refuse replays
 * of old deliveries.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifyWebhook(secret: string, timestamp: number, body: string, signature: string): boolean {
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
