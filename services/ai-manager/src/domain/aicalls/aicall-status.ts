import { appError, type AicallStatus } from '@avp/shared';

/**
 * The AIcall state machine: initiating -> progressing -> terminating -> terminated. A
 * session may also stop before it got going (initiating -> terminating/terminated), and
 * `terminated` is final. Staying in the same state is not a transition.
 */
const allowed: Record<AicallStatus, readonly AicallStatus[]> = {
  initiating: ['progressing', 'terminating', 'terminated'],
  progressing: ['terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

export function canTransition(from: AicallStatus, to: AicallStatus): boolean {
  return allowed[from].includes(to);
}

/** Throws 409 INVALID_STATE naming both states when the move is not allowed. */
export function assertTransition(from: AicallStatus, to: AicallStatus): void {
  if (!canTransition(from, to)) {
    throw appError('INVALID_STATE', `An AIcall cannot go from ${from} to ${to}.`);
  }
}

/** Whether the session still runs (accepts messages). */
export function isLive(status: AicallStatus): boolean {
  return status === 'initiating' || status === 'progressing';
}
