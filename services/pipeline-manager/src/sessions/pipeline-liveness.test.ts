import { describe, expect, it } from 'vitest';
import { orphanReason } from './pipeline-liveness.ts';

describe('orphanReason', () => {
  it('stops a pipeline whose AIcall ended or does not exist', () => {
    expect(orphanReason({ id: 'a', status: 'terminated', pipeline_epoch: 0 }, 0, 0)).toBe('the AIcall has ended');
    expect(orphanReason({ id: 'a', status: null, pipeline_epoch: null }, 0, 0)).toBe('the AIcall does not exist');
  });

  it('stops a pipeline replaced by crash resumption (another epoch), even while the AIcall is live', () => {
    expect(orphanReason({ id: 'a', status: 'progressing', pipeline_epoch: 2 }, 1, 0)).toMatch(/^superseded: another pipeline took the AIcall over \(epoch 2, this one 1\)/);
  });

  it('keeps the current pipeline of a live AIcall, also when ai-manager names no epoch (an older ai-manager)', () => {
    expect(orphanReason({ id: 'a', status: 'progressing', pipeline_epoch: 1 }, 1, 0)).toBeUndefined();
    expect(orphanReason({ id: 'a', status: 'initiating' }, 3, 0)).toBeUndefined();
  });

  it('gives an AIcall stuck in terminating one more check', () => {
    expect(orphanReason({ id: 'a', status: 'terminating', pipeline_epoch: 0 }, 0, 1)).toBeUndefined();
    expect(orphanReason({ id: 'a', status: 'terminating', pipeline_epoch: 0 }, 0, 2)).toBe('the AIcall has been ending for two checks');
  });
});
