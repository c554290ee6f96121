import { createHash, randomBytes } from 'node:crypto';

/** A freshly generated access key: the secret (shown once), its SHA-256 and a display prefix. */
export interface GeneratedAccessKey {
  key: string;
  hash: string;
  prefix: string;
}

/** Keys are `avp_` + 32 random bytes (base64url): 256 bits, so a fast hash is enough to store them. */
export function generateAccessKey(): GeneratedAccessKey {
  const key = `avp_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashAccessKey(key), prefix: key.slice(0, 10) };
}

/** The stored form of a key. */
export function hashAccessKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A webhook signing secret for a customer. */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}
