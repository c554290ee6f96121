import { describe, expect, it } from 'vitest';
import { categoryForStatus, classifyProviderError, ProviderError } from './provider-error.ts';

describe('provider error classification', () => {
  it('maps HTTP statuses, telling quota from rate limits by the body', () => {
    expect(categoryForStatus(401)).toBe('auth');
    expect(categoryForStatus(403)).toBe('auth');
    expect(categoryForStatus(402)).toBe('quota');
    expect(categoryForStatus(429, 'Rate limit reached for requests')).toBe('rate_limit');
    expect(categoryForStatus(429, '{"type":"insufficient_quota"}')).toBe('quota');
    expect(categoryForStatus(408)).toBe('timeout');
    expect(categoryForStatus(422)).toBe('bad_request');
    expect(categoryForStatus(503)).toBe('server');
    expect(categoryForStatus(302)).toBeUndefined();
  });

  it('classifies SDK-style errors by status, AWS errors by name, network errors by code', () => {
    expect(classifyProviderError(Object.assign(new Error('x'), { status: 401 }), 'p')).toMatchObject({ category: 'auth', retryable: false, status: 401 });
    expect(classifyProviderError(Object.assign(new Error('slow'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }), 'p')).toMatchObject({
      category: 'rate_limit',
      retryable: true,
      status: 429,
    });
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
    expect(classifyProviderError(refused, 'p')).toMatchObject({ category: 'connectivity', retryable: true });
    expect(classifyProviderError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'p')).toMatchObject({ category: 'timeout' });
    expect(classifyProviderError(new Error('Unexpected server response: 429'), 'p')).toMatchObject({ category: 'rate_limit', status: 429 });
    expect(classifyProviderError({ message: 'Unexpected server response: 403' }, 'p')).toMatchObject({ category: 'auth' });
    expect(classifyProviderError(Object.assign(new Error('x'), { error: { type: 'error', error: { type: 'overloaded_error' } } }), 'p')).toMatchObject({ category: 'server', retryable: true });
  });

  it('keeps ProviderErrors and treats unknown failures as non-retryable server errors', () => {
    const original = new ProviderError('quota', 'out of credits', { provider: 'x' });
    expect(classifyProviderError(original, 'y')).toBe(original);
    const unknown = classifyProviderError(new RangeError('bug'), 'openai.gpt');
    expect(unknown).toMatchObject({ category: 'server', retryable: false, provider: 'openai.gpt' });
    expect(unknown.message).toBe('openai.gpt: bug');
  });
});
