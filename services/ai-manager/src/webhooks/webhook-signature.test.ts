import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from './webhook-signature.ts';

describe('webhook signatures', () => {
  it('is the HMAC-SHA256 of "<timestamp>.<body>" in hex', () => {
    const expected = createHmac('sha256', 'secret').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('secret', 1700000000, '{"a":1}')).toBe(`sha256=${expected}`);
  });

  it('verifies only the same secret, timestamp and body', () => {
    const signature = signWebhook('secret', 1, 'body');
    expect(verifyWebhook('secret', 1, 'body', signature)).toBe(true);
    expect(verifyWebhook('other', 1, 'body', signature)).toBe(false);
    expect(verifyWebhook('secret', 2, 'body', signature)).toBe(false);
    expect(verifyWebhook('secret', 1, 'body!', signature)).toBe(false);
    expect(verifyWebhook('secret', 1, 'body', 'sha256=00')).toBe(false);
  });
});
