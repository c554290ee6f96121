import { aicallStatuses } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, isLive } from './aicall-status.ts';

describe('AIcall state machine', () => {
  it('moves forward along initiating, progressing, terminating, terminated', () => {
    expect(canTransition('initiating', 'progressing')).toBe(true);
    expect(canTransition('progressing', 'terminating')).toBe(true);
    expect(canTransition('terminating', 'terminated')).toBe(true);
    expect(canTransition('initiating', 'terminated')).toBe(true);
  });

  it('never moves backwards, out of terminated, or to the same state', () => {
    expect(canTransition('progressing', 'initiating')).toBe(false);
    expect(canTransition('terminating', 'progressing')).toBe(false);
    for (const status of aicallStatuses) {
      expect(canTransition('terminated', status)).toBe(false);
      expect(canTransition(status, status)).toBe(false);
    }
  });

  it('rejects a forbidden move with 409 INVALID_STATE', () => {
    expect(() => assertTransition('terminated', 'progressing')).toThrow(/terminated to progressing/);
    try {
      assertTransition('terminated', 'progressing');
    } catch (error) {
      expect(error).toMatchObject({ reason: 'INVALID_STATE', httpStatus: 409 });
    }
  });

  it('counts only initiating and progressing as live', () => {
    expect(aicallStatuses.filter(isLive)).toEqual(['initiating', 'progressing']);
  });
});
