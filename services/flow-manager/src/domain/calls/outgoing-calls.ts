import { randomUUID } from 'node:crypto';
import type { Action, Call } from '@avp/shared';
import type { ActiveflowRunner } from '../activeflows/activeflow-runner.ts';
import { inlineAiIdsOf } from '../flows/inline-ai-release.ts';
import type { DomainContext } from '../context.ts';
import type { CallControl, ConnectOption } from './call-control.ts';
import { callHandle, findCall, insertCall, markCallHangup, setCallActiveflow, toCall, type CallRow } from './call-store.ts';
import { claimOutgoingFlow, insertOutgoingFlow, removeOutgoingFlow, waitingOutgoingFlows } from './outgoing-flow-store.ts';

type Address = ConnectOption['destinations'][number];

/** `POST /v1.0/calls`, checked: the flow (`flowId`) or the checked actions to run once a call is answered. */
export interface OutgoingCallRequest {
  source: Address;
  destinations: Address[];
  flowId: string | null;
  actions: Action[];
  /** Seconds each destination rings before it ends `noanswer`. */
  timeout: number;
  variables: Record<string, string>;
}

/**
 * Beyond Asterisk's own ring timeout: a call still unanswered this long after it should have
 * ended (a lost event, an Asterisk that ignored the timeout) is hung up here.
 */
const ringDeadlineMarginMs = 10_000;

/**
 * Why an outgoing call that was never answered ended, from the Q.850 cause of its hang-up:
 * `busy` (17), `noanswer` (18 no user responding, 19 alerting without answer: Asterisk's ring
 * timeout), `cancel` when we hung it up ourselves, `failed` for everything else (rejected 21,
 * unallocated number, congestion, no route, ...).
 */
export function dialFailureReason(cause: number | undefined, by: 'remote' | 'local'): string {
  if (by === 'local') return 'cancel';
  if (cause === 17) return 'busy';
  if (cause === 18 || cause === 19) return 'noanswer';
  return 'failed';
}

/**
 * Why an outgoing call ended, as its record says (`hangup_reason`): before the answer from
 * `dialFailureReason`; after it `normal` when we hung up or the called party hung up normally
 * (cause 16), else Asterisk's cause text (`reason`).
 */
export function outgoingEndReason(call: Pick<CallRow, 'direction' | 'status'>, reason: string, by: 'remote' | 'local', cause: number | undefined): string {
  if (isUnansweredOutgoing(call)) return dialFailureReason(cause, by);
  return by === 'local' || cause === 16 ? 'normal' : reason;
}

/** Whether the call is an outgoing one that has not been answered (yet). */
export function isUnansweredOutgoing(call: Pick<CallRow, 'direction' | 'status'>): boolean {
  return call.direction === 'outgoing' && (call.status === 'dialing' || call.status === 'ringing');
}

/**
 * Outgoing calls: one call record and one originate per destination; the flow runs in an
 * activeflow of the call (reference type `call`) once it is answered, and never for a call that
 * was not. The flow to run is stored with the call (`outgoing_flows`), so a call answered after
 * a restart of this process, or seen by another instance, still runs it; the call records and
 * `call-` channels are reconciled like every call (nothing is left in Asterisk).
 */
export class OutgoingCalls {
  /** Ring deadlines armed in this process, by call id. */
  private readonly deadlines = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly context: DomainContext,
    private readonly runner: ActiveflowRunner,
    private readonly control: CallControl,
  ) {}

  /**
   * Creates and dials a call per destination; answers the records as created (`dialing`), or
   * ended `failed` when Asterisk refused the originate.
   */
  async create(customerId: string, request: OutgoingCallRequest): Promise<Call[]> {
    const calls: Call[] = [];
    const inlineAiIds = request.flowId ? [] : inlineAiIdsOf(request.actions);
    for (const destination of request.destinations) {
      const row = await insertCall(this.context.db, {
        customerId,
        channelId: `call-${randomUUID()}`,
        direction: 'outgoing',
        source: request.source.target,
        destination: destination.target,
        status: 'dialing',
      });
      const ringDeadline = new Date(Date.now() + request.timeout * 1000 + ringDeadlineMarginMs);
      await insertOutgoingFlow(this.context.db, { callId: row.id, customerId, flowId: request.flowId, actions: request.actions, variables: request.variables, inlineAiIds, ringDeadline });
      this.armDeadline(row.id, ringDeadline);
      await this.context.publish('call_created', toCall(row));
      let answer = row;
      try {
        await this.control.originate({ callId: row.id, channelId: row.channel_id, destination, source: request.source.target, timeout: request.timeout });
      } catch (error) {
        this.context.logger.warn({ err: error, callId: row.id }, 'originating an outgoing call failed');
        answer = (await this.end(row, 'failed')) ?? row;
      }
      calls.push(toCall(answer));
    }
    return calls;
  }

  /**
   * Arms the ring deadlines of the calls still waiting for an answer (after a restart: the
   * deadlines of the process before went with it). A flow whose call has ended meanwhile is
   * dropped (its inline AIs released).
   */
  async resume(): Promise<void> {
    for (const waiting of await waitingOutgoingFlows(this.context.db)) {
      const call = await findCall(this.context.db, waiting.callId);
      if (call && isUnansweredOutgoing(call)) this.armDeadline(waiting.callId, waiting.ringDeadline);
      else if (!call || call.status === 'hangup') await this.drop(waiting.callId);
    }
  }

  /** The call was answered and is in the Stasis app: its flow starts (once, whichever instance sees the answer first). */
  async answered(call: CallRow): Promise<void> {
    this.clearDeadline(call.id);
    if (call.activeflow_id) return;
    const pending = await claimOutgoingFlow(this.context.db, call.id);
    if (!pending) {
      // Another instance took it, or the call was placed before this platform stored flows with calls.
      const activeflowId = (await findCall(this.context.db, call.id))?.activeflow_id;
      if (activeflowId) return;
      this.context.logger.warn({ callId: call.id }, 'an outgoing call was answered with no flow to run; hanging up');
      await this.hangup(call, 'failed');
      return;
    }
    const variables = {
      ...pending.variables,
      'voipbin.call.id': call.id,
      'voipbin.call.source': call.source,
      'voipbin.call.destination': call.destination,
      'voipbin.call.direction': 'outgoing',
    };
    try {
      const common = { customerId: pending.customerId, referenceType: 'call' as const, referenceId: call.id, variables };
      const activeflow = pending.flowId
        ? await this.runner.startFlow({ ...common, flowId: pending.flowId })
        : await this.runner.start({ ...common, flowId: null, actions: pending.actions });
      await setCallActiveflow(this.context.db, call.id, activeflow.id);
      // Its activeflow (stored) carries the inline AIs from here.
      await removeOutgoingFlow(this.context.db, call.id);
    } catch (error) {
      // The flow was deleted meanwhile, or the database failed: nothing runs for the call.
      this.context.logger.warn({ err: error, callId: call.id }, 'the flow of an answered outgoing call could not start; hanging up');
      await removeOutgoingFlow(this.context.db, call.id).catch(() => undefined);
      await this.runner.inlineAis.release(pending.customerId, pending.inlineAiIds);
      await this.hangup(call, 'failed');
    }
  }

  /** The call ended (or is being ended) unanswered: its flow will never run, and its inline AIs are released if no other call needs them. */
  forget(callId: string): void {
    this.clearDeadline(callId);
    void this.drop(callId).catch((error: unknown) => this.context.logger.warn({ err: error, callId }, "could not drop an ended call's flow"));
  }

  private async drop(callId: string): Promise<void> {
    const dropped = await removeOutgoingFlow(this.context.db, callId);
    if (dropped) await this.runner.inlineAis.release(dropped.customerId, dropped.inlineAiIds);
  }

  private armDeadline(callId: string, deadline: Date): void {
    this.clearDeadline(callId);
    const timer = setTimeout(() => void this.ringDeadline(callId), Math.max(0, deadline.getTime() - Date.now())).unref();
    this.deadlines.set(callId, timer);
  }

  private clearDeadline(callId: string): void {
    clearTimeout(this.deadlines.get(callId));
    this.deadlines.delete(callId);
  }

  /** Hangs up a call that has not been answered yet (`cancel`); answers the call as it then is. */
  async cancel(call: CallRow): Promise<Call> {
    await this.hangup(call, 'cancel');
    return toCall((await findCall(this.context.db, call.id)) ?? call);
  }

  private async ringDeadline(callId: string): Promise<void> {
    const call = await findCall(this.context.db, callId).catch(() => undefined);
    if (call && isUnansweredOutgoing(call)) {
      this.context.logger.warn({ callId }, 'an outgoing call rang past its timeout; hanging up');
      await this.hangup(call, 'noanswer');
    }
    this.deadlines.delete(callId);
  }

  /** Records the end first: the hang-up events Asterisk then sends find the call ended and change nothing. */
  private async hangup(call: CallRow, reason: string): Promise<void> {
    await this.end(call, reason);
    await this.control.hangup(callHandle(call), reason).catch((error: unknown) => this.context.logger.warn({ err: error, callId: call.id }, 'hanging up failed'));
  }

  private async end(call: CallRow, reason: string): Promise<CallRow | undefined> {
    this.forget(call.id);
    const ended = await markCallHangup(this.context.db, call.id, 'local', reason);
    if (ended) await this.context.publish('call_hangup', toCall(ended));
    return ended;
  }
}
