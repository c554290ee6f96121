import { describe, expect, it } from 'vitest';
import { currentTimestamp, timestampPattern, toApiTimestamp, toApiTimestampOrRaw } from './timestamps.ts';

describe('toApiTimestamp', () => {
  it('formats PostgreSQL text output with six fraction digits', () => {
    expect(toApiTimestamp('2026-01-02 03:04:05.123456+00')).toBe('2026-01-02T03:04:05.123456Z');
    expect(toApiTimestamp('2026-01-02 03:04:05.1+00')).toBe('2026-01-02T03:04:05.100000Z');
    expect(toApiTimestamp('2026-01-02 03:04:05+00')).toBe('2026-01-02T03:04:05.000000Z');
  });

  it('converts other time zones to UTC without losing microseconds', () => {
    expect(toApiTimestamp('2026-01-02 01:04:05.000007+05:30')).toBe('2026-01-01T19:34:05.000007Z');
    expect(toApiTimestamp('2026-12-31T23:59:59.999999-01:00')).toBe('2027-01-01T00:59:59.999999Z');
    expect(toApiTimestamp('2026-01-02T03:04:05.25+00:00')).toBe('2026-01-02T03:04:05.250000Z');
  });

  it('pads a Date, which only knows milliseconds', () => {
    expect(toApiTimestamp(new Date('2026-01-02T03:04:05.123Z'))).toBe('2026-01-02T03:04:05.123000Z');
  });

  it('rejects what is not a timestamp, while the driver parser passes it through', () => {
    expect(() => toApiTimestamp('yesterday')).toThrow(RangeError);
    expect(() => toApiTimestamp(new Date(Number.NaN))).toThrow(RangeError);
    expect(toApiTimestampOrRaw('infinity')).toBe('infinity');
  });
});

describe('currentTimestamp', () => {
  it('gives distinct, increasing canonical timestamps even within one millisecond', () => {
    const values = Array.from({ length: 5000 }, () => currentTimestamp());
    expect(values.every((value) => timestampPattern.test(value))).toBe(true);
    expect(new Set(values).size).toBe(values.length);
    expect([...values].sort()).toEqual(values);
  });

  it('stays close to the wall clock', () => {
    const before = Date.now();
    const value = Date.parse(currentTimestamp());
    expect(Math.abs(value - before)).toBeLessThan(1000);
  });
});
