import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.ts';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a secret and never stores it in the clear', () => {
    const stored = box.encrypt('sk-live-123', 'ai-1');
    expect(stored).toMatch(/^v1:/);
    expect(stored).not.toContain('sk-live-123');
    expect(box.decrypt(stored, 'ai-1')).toBe('sk-live-123');
  });

  it('uses a fresh nonce each time', () => {
    expect(box.encrypt('same', 'ai-1')).not.toBe(box.encrypt('same', 'ai-1'));
  });

  it('refuses a value bound to another id, tampered with, or from another key', () => {
    const stored = box.encrypt('sk-live-123', 'ai-1');
    expect(() => box.decrypt(stored, 'ai-2')).toThrow();
    const parts = stored.split(':');
    parts[3] = Buffer.from('garbage').toString('base64url');
    expect(() => box.decrypt(parts.join(':'), 'ai-1')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).decrypt(stored, 'ai-1')).toThrow();
    expect(() => box.decrypt('plain text', 'ai-1')).toThrow(/unrecognised/);
  });

  it('reads base64 and hex keys and rejects a wrong length', () => {
    const key = randomBytes(32);
    const fromBase64 = SecretBox.fromEncodedKey(key.toString('base64'));
    const fromHex = SecretBox.fromEncodedKey(key.toString('hex'));
    expect(fromHex.decrypt(fromBase64.encrypt('x', 'id'), 'id')).toBe('x');
    expect(() => SecretBox.fromEncodedKey(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
