import { describe, expect, it } from 'vitest';
import { replyToError, topicMatches } from './replies.ts';

describe('topicMatches', () => {
  it.each([
    ['#', 'ai_created', true],
    ['#', 'a.b.c', true],
    ['*', 'ai_created', true],
    ['*', 'a.b', false],
    ['ai_created', 'ai_created', true],
    ['ai_created', 'ai_deleted', false],
    ['a.*.c', 'a.b.c', true],
    ['a.#', 'a', true],
    ['a.#.d', 'a.b.c.d', true],
    ['a.#.d', 'a.b.c', false],
  ])('%s matches %s: %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});

describe('replyToError', () => {
  it('keeps the remote status, reason and message', () => {
    const error = replyToError(
      { status_code: 404, data: { error: { status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND', message: 'No such AI.', request_id: 'r' } } },
      { uri: '/v1/ais/1', method: 'GET' },
    );
    expect(error).toMatchObject({ status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND', message: 'No such AI.', httpStatus: 404 });
  });

  it('maps a bare status code to the closest catalog status', () => {
    const error = replyToError({ status_code: 503 }, { uri: '/x', method: 'POST' });
    expect(error).toMatchObject({ status: 'UNAVAILABLE', httpStatus: 503 });
    expect(error.message).toContain('POST /x');
  });
});
