import { z } from 'zod';
import type { EventEnvelope } from './envelopes.ts';

/**
 * Revocations ai-manager publishes on `ai-manager.event` when an access key is deleted or a
 * customer is (which revokes all its keys), so every process of every service drops what it
 * holds for them at once: cached key lookups and open WebSocket connections. They are
 * internal: never pushed to WebSocket clients nor sent to webhooks.
 */
export const credentialEventTypes = ['accesskey_deleted', 'customer_deleted'] as const;
export type CredentialEventType = (typeof credentialEventTypes)[number];

const accesskeyDeletedSchema = z.object({ id: z.string(), customer_id: z.string() });
const customerDeletedSchema = z.object({ id: z.string() });

/** What a revocation covers: one key, or every key of a customer. */
export interface Revocation {
  keyId?: string;
  customerId?: string;
}

/** The event announcing a revocation. */
export function revocationEvent(revocation: { keyId: string; customerId: string } | { customerId: string }): { type: CredentialEventType; data: unknown } {
  return 'keyId' in revocation
    ? { type: 'accesskey_deleted', data: { id: revocation.keyId, customer_id: revocation.customerId } }
    : { type: 'customer_deleted', data: { id: revocation.customerId } };
}

/** The revocation an event announces, or undefined for any other event. */
export function revocationOf(event: Pick<EventEnvelope, 'type' | 'data'>): Revocation | undefined {
  if (event.type === 'accesskey_deleted') {
    const data = accesskeyDeletedSchema.safeParse(event.data);
    return data.success ? { keyId: data.data.id } : undefined;
  }
  if (event.type === 'customer_deleted') {
    const data = customerDeletedSchema.safeParse(event.data);
    return data.success ? { customerId: data.data.id } : undefined;
  }
  return undefined;
}
