import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const algorithm = 'aes-256-gcm';
const version = 'v1';

/**
 * Encrypts customer secrets (an AI's `engine_key`) at rest with AES-256-GCM. The stored
 * form is `v1:<iv>:<tag>:<ciphertext>` (base64url parts), so the format can change later
 * without guessing. The AI id is bound as additional data: a ciphertext copied onto another
 * AI's row fails to decrypt instead of leaking that key into the wrong session.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`the encryption key must be 32 bytes, got ${key.length}`);
    this.key = key;
  }

  /** Reads a key given as base64 (44 characters) or hex (64 characters). */
  static fromEncodedKey(encoded: string): SecretBox {
    const trimmed = encoded.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    return new SecretBox(key);
  }

  encrypt(plaintext: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv(algorithm, this.key, iv);
    cipher.setAAD(Buffer.from(boundTo, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [version, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join(':');
  }

  /** Throws when the value was tampered with, encrypted under another key, or bound to another id. */
  decrypt(stored: string, boundTo: string): string {
    const [storedVersion, iv, tag, ciphertext] = stored.split(':');
    if (storedVersion !== version || iv === undefined || tag === undefined || ciphertext === undefined) {
      throw new Error('unrecognised encrypted value');
    }
    const decipher = createDecipheriv(algorithm, this.key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(boundTo, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }
}
