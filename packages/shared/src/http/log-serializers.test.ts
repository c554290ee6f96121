import { describe, expect, it } from 'vitest';
import { redactCredentials } from './log-serializers.ts';

describe('redactCredentials', () => {
  it('hides access keys in query strings and leaves the rest', () => {
    expect(redactCredentials('/v1.0/flows?accesskey=avp_secret&page_size=2')).toBe('/v1.0/flows?accesskey=[redacted]&page_size=2');
    expect(redactCredentials('/v1.0/ws?page_size=1&TOKEN=avp_secret')).toBe('/v1.0/ws?page_size=1&TOKEN=[redacted]');
    expect(redactCredentials('/v1.0/calls/123')).toBe('/v1.0/calls/123');
  });
});
