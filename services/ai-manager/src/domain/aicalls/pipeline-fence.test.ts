import { describe, expect, it } from 'vitest';
import { isSupersededEpoch } from './pipeline-fence.ts';

describe('isSupersededEpoch', () => {
  it('refuses a report of an older epoch than the AIcall\'s', () => {
    expect(isSupersededEpoch(2, 1)).toBe(true);
    expect(isSupersededEpoch(1, 0)).toBe(true);
  });

  it('accepts the current epoch, reports without one (an older pipeline-manager) and unknown AIcalls', () => {
    expect(isSupersededEpoch(1, 1)).toBe(false);
    expect(isSupersededEpoch(3, undefined)).toBe(false);
    expect(isSupersededEpoch(undefined, 0)).toBe(false);
  });
});
