/** Q.850 cause texts as Asterisk's ast_cause2str prints them (the subset the simulator uses). */
export const CAUSE_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  3: 'No route to destination',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  21: 'Call Rejected',
  26: 'Answered elsewhere',
  28: 'Invalid number format (addresses incomplete)',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};

/** DELETE /channels/{id}?reason= values and the cause codes Asterisk maps them to. */
export const HANGUP_REASONS: Record<string, number> = {
  normal: 16,
  busy: 17,
  congestion: 34,
  no_answer: 19,
  timeout: 18,
  rejected: 21,
  unallocated: 1,
  normal_unspecified: 31,
  number_incomplete: 28,
  codec_mismatch: 58,
  interworking: 127,
  failure: 38,
  answered_elsewhere: 26,
};

export function causeText(cause: number): string {
  return CAUSE_TEXT[cause] ?? 'Unknown';
}

/** AST_SOFTHANGUP_EXPLICIT: what ChannelHangupRequest reports as `cause` for an ARI hangup. */
export const SOFT_HANGUP_EXPLICIT = 32;

/**
 * The Dial status Asterisk reports when an unanswered outgoing channel is hung up: an ARI
 * hangup (soft) is NOANSWER, as is cause 19; busy and congestion have their own statuses.
 */
export function dialStatusFor(cause: number, soft: boolean): string {
  if (soft || cause === 19) return 'NOANSWER';
  if (cause === 17) return 'BUSY';
  if (cause === 34) return 'CONGESTION';
  if (cause === 3) return 'CHANUNAVAIL';
  return 'CANCEL';
}
