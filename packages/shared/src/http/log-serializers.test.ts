import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { httpLoggerOptions, redactCredentials, redactSecrets } from './log-serializers.ts';

// Shaped like generateAccessKey's keys: `avp_` + 43 base64url characters.
const key = 'avp_Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWo';

describe('redactCredentials', () => {
  it('hides access keys in query strings and leaves the rest', () => {
    expect(redactCredentials('/v1.0/flows?accesskey=avp_secret&page_size=2')).toBe('/v1.0/flows?accesskey=[redacted]&page_size=2');
    expect(redactCredentials('/v1.0/ws?page_size=1&TOKEN=avp_secret')).toBe('/v1.0/ws?page_size=1&TOKEN=[redacted]');
    expect(redactCredentials('/v1.0/calls/123')).toBe('/v1.0/calls/123');
  });

  it('judges parameter names after percent-decoding them, as the server does', () => {
    expect(redactCredentials(`/v1.0/ais?tok%65n=${key}`)).toBe('/v1.0/ais?tok%65n=[redacted]');
    expect(redactCredentials(`/v1.0/ais?%61ccesskey=not-a-key-shape`)).toBe('/v1.0/ais?%61ccesskey=[redacted]');
    expect(redactCredentials(`/v1.0/ais?token%20=x`)).toBe('/v1.0/ais?token%20=[redacted]');
  });

  it('hides key-shaped values under any name, encoded or not, and in the path', () => {
    expect(redactCredentials(`/v1.0/ais?api_key=${key}`)).toBe('/v1.0/ais?api_key=[redacted]');
    expect(redactCredentials(`/v1.0/ais?k=${key}&page_size=1`)).toBe('/v1.0/ais?k=[redacted]&page_size=1');
    expect(redactCredentials(`/v1.0/ais?k=avp%5F${key.slice(4)}`)).toBe('/v1.0/ais?k=[redacted]');
    expect(redactCredentials(`/v1.0/ais?${key}`)).toBe('/v1.0/ais?[redacted]');
    expect(redactCredentials(`/v1.0/ais/${key}?x=1`)).toBe('/v1.0/ais/[redacted]?x=1');
    expect(redactCredentials('/v1.0/ais?name=avp_short')).toBe('/v1.0/ais?name=avp_short');
  });
});

describe('redactSecrets', () => {
  it('replaces access keys and webhook secrets wherever they appear', () => {
    expect(redactSecrets(`No route GET /v1.0/${key}.`)).toBe('No route GET /v1.0/avp_[redacted].');
    expect(redactSecrets('signed with whsec_abcdefghijklmnopqrstuvwx')).toBe('signed with whsec_[redacted]');
  });
});

describe('httpLoggerOptions', () => {
  it('keeps keys out of every line of the HTTP server logger, and keeps the platform secrets censored', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) }).child({}, httpLoggerOptions);
    logger.info({ reason: 'ROUTE_NOT_FOUND', message: `No route GET /v1.0/${key}` }, 'request rejected');
    logger.info({ headers: { authorization: `Bearer ${key}` }, engine_key: 'sk-secret' }, 'headers');
    logger.info({ req: { method: 'GET', url: `/v1.0/ais?tok%65n=${key}`, headers: {}, socket: {} } }, 'incoming request');
    const text = lines.join('\n');
    expect(text).not.toContain(key);
    expect(text).not.toContain('sk-secret');
    expect(text).toContain('No route GET /v1.0/avp_[redacted]');
    expect(text).toContain('tok%65n=[redacted]');
  });
});
