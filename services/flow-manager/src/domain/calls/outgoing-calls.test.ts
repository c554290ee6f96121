import { describe, expect, it } from 'vitest';
import { dialFailureReason, isUnansweredOutgoing, outgoingEndReason } from './outgoing-calls.ts';

describe('dialFailureReason', () => {
  it('names an unanswered outgoing call\'s end from its Q.850 cause', () => {
    expect(dialFailureReason(17, 'remote')).toBe('busy');
    expect(dialFailureReason(19, 'remote')).toBe('noanswer');
    expect(dialFailureReason(18, 'remote')).toBe('noanswer');
    expect(dialFailureReason(21, 'remote')).toBe('failed');
    expect(dialFailureReason(34, 'remote')).toBe('failed');
    expect(dialFailureReason(undefined, 'remote')).toBe('failed');
  });

  it('calls a call we hung up before the answer cancelled, whatever the cause', () => {
    expect(dialFailureReason(16, 'local')).toBe('cancel');
    expect(dialFailureReason(32, 'local')).toBe('cancel');
  });
});

describe('isUnansweredOutgoing', () => {
  it('is true for an outgoing call dialing or ringing only', () => {
    expect(isUnansweredOutgoing({ direction: 'outgoing', status: 'dialing' })).toBe(true);
    expect(isUnansweredOutgoing({ direction: 'outgoing', status: 'ringing' })).toBe(true);
    expect(isUnansweredOutgoing({ direction: 'outgoing', status: 'progressing' })).toBe(false);
    expect(isUnansweredOutgoing({ direction: 'incoming', status: 'ringing' })).toBe(false);
  });
});

describe('outgoingEndReason', () => {
  it('is normal for an answered call either side hung up normally, else the cause text', () => {
    const answered = { direction: 'outgoing', status: 'progressing' };
    expect(outgoingEndReason(answered, 'hung up over ARI', 'local', 32)).toBe('normal');
    expect(outgoingEndReason(answered, 'Normal Clearing', 'remote', 16)).toBe('normal');
    expect(outgoingEndReason(answered, 'Network out of order', 'remote', 38)).toBe('Network out of order');
    expect(outgoingEndReason({ direction: 'outgoing', status: 'ringing' }, 'User busy', 'remote', 17)).toBe('busy');
  });
});
