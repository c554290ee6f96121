import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors/index.ts';
import { listQuerySchema, parsePageToken, toListResponse } from './pagination.ts';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('listQuerySchema', () => {
  it('defaults page_size to 100 and page_token to empty', () => {
    expect(listQuerySchema.parse({})).toEqual({ page_size: 100, page_token: '' });
  });

  it('reads page_size from a query string and maps out-of-range sizes to 100', () => {
    expect(listQuerySchema.parse({ page_size: '25' }).page_size).toBe(25);
    expect(listQuerySchema.parse({ page_size: '0' }).page_size).toBe(100);
    expect(listQuerySchema.parse({ page_size: -3 }).page_size).toBe(100);
    expect(listQuerySchema.parse({ page_size: 101 }).page_size).toBe(100);
  });

  it('rejects a page_size that is not a whole number', () => {
    expect(listQuerySchema.safeParse({ page_size: 'ten' }).success).toBe(false);
    expect(listQuerySchema.safeParse({ page_size: '2.5' }).success).toBe(false);
  });

  it('accepts product tokens and tie-breaking tokens, and rejects anything else', () => {
    expect(listQuerySchema.safeParse({ page_token: '2026-01-02T03:04:05.123456Z' }).success).toBe(true);
    expect(listQuerySchema.safeParse({ page_token: `2026-01-02T03:04:05.123456Z_${id(1)}` }).success).toBe(true);
    expect(listQuerySchema.safeParse({ page_token: '2026-01-02 03:04:05' }).success).toBe(false);
    expect(listQuerySchema.safeParse({ page_token: "x'; drop table ais" }).success).toBe(false);
  });
});

describe('parsePageToken', () => {
  it('reads a token into a canonical cursor', () => {
    expect(parsePageToken('')).toBeUndefined();
    expect(parsePageToken('2026-01-02T03:04:05.1Z')).toEqual({ tmCreate: '2026-01-02T03:04:05.100000Z' });
    expect(parsePageToken(`2026-01-02T03:04:05.123456Z_${id(7).toUpperCase()}`)).toEqual({
      tmCreate: '2026-01-02T03:04:05.123456Z',
      id: id(7),
    });
  });

  it('throws VALIDATION_FAILED for a malformed token', () => {
    let caught: unknown;
    try {
      parsePageToken('not-a-token');
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.reason).toBe('VALIDATION_FAILED');
  });
});

describe('toListResponse', () => {
  const row = (n: number, tm_create: string) => ({ id: id(n), tm_create, name: `row ${n}` });

  it('returns page_size rows and the last one\'s tm_create when more rows follow', () => {
    const rows = [row(3, '2026-01-01T00:00:03.000000Z'), row(2, '2026-01-01T00:00:02.000000Z'), row(1, '2026-01-01T00:00:01.000000Z')];
    expect(toListResponse(rows, 2)).toEqual({ result: rows.slice(0, 2), next_page_token: '2026-01-01T00:00:02.000000Z' });
  });

  it('adds the id to the token when the next row has the same tm_create', () => {
    const same = '2026-01-01T00:00:01.000000Z';
    const response = toListResponse([row(3, same), row(2, same), row(1, same)], 2);
    expect(response.next_page_token).toBe(`${same}_${id(2)}`);
  });

  it('gives an empty token on the last page and projects rows when asked', () => {
    const rows = [row(1, '2026-01-01T00:00:01.000000Z')];
    expect(toListResponse(rows, 2, (item) => item.name)).toEqual({ result: ['row 1'], next_page_token: '' });
    expect(toListResponse([], 2)).toEqual({ result: [], next_page_token: '' });
  });
});
