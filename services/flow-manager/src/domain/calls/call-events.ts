import { appError, toApiTimestamp, type Call } from '@avp/shared';
import type { ActiveflowRunner } from '../activeflows/activeflow-runner.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { findNumberByValue } from '../numbers/number-service.ts';
import { findCustomerBridge, insertBridge, markBridgeDestroyed } from './bridge-store.ts';
import type { CallControl, ConnectOption, ExternalMedia, ExternalMediaRequest, SnoopMedia, SnoopMediaRequest } from './call-control.ts';
import {
  callHandle,
  findCall,
  findCallByChannel,
  findCustomerCall,
  insertCall,
  markCallHangup,
  markCallProgressing,
  markCallRinging,
  setCallActiveflow,
  toCall,
} from './call-store.ts';
import { isUnansweredOutgoing, OutgoingCalls, outgoingEndReason } from './outgoing-calls.ts';

/** A new channel in the Stasis app, as the telephony side reports it. */
export interface IncomingChannel {
  channelId: string;
  source: string;
  destination: string;
}

/**
 * What happens to calls: records them, runs the number's flow for an inbound call, ends the
 * activeflow when the caller hangs up, and publishes `call_*` events. The telephony side
 * (the ARI Stasis app) calls these; so do tests.
 */
export class CallEvents {
  /** Outgoing calls (`POST /v1.0/calls`): placed there, their flows started here on the answer. */
  readonly outgoing: OutgoingCalls;

  constructor(
    private readonly context: DomainContext,
    private readonly runner: ActiveflowRunner,
    private readonly control: CallControl,
  ) {
    this.outgoing = new OutgoingCalls(context, runner, control);
  }

  /**
   * An inbound call: runs the call flow of the dialled number. A number nobody owns, or one
   * without a call flow, is hung up (there is no customer to run anything for).
   */
  async incoming(channel: IncomingChannel): Promise<Call | undefined> {
    const number = await findNumberByValue(this.context.db, channel.destination);
    if (!number?.call_flow_id) {
      this.context.logger.warn({ destination: channel.destination }, 'no call flow for the dialled number; hanging up');
      await this.control
        .hangup({ id: '', channelId: channel.channelId, source: channel.source, destination: channel.destination }, 'noanswer')
        .catch(() => undefined);
      return undefined;
    }
    const row = await insertCall(this.context.db, { customerId: number.customer_id, direction: 'incoming', ...channel });
    await this.context.publish('call_created', toCall(row));
    const activeflow = await this.runner.startFlow({
      customerId: number.customer_id,
      flowId: number.call_flow_id,
      referenceType: 'call',
      referenceId: row.id,
      variables: {
        'voipbin.call.id': row.id,
        'voipbin.call.source': channel.source,
        'voipbin.call.destination': channel.destination,
        'voipbin.call.direction': 'incoming',
      },
    });
    const updated = await setCallActiveflow(this.context.db, row.id, activeflow.id);
    return toCall(updated);
  }

  async answered(channelId: string): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (!call) return;
    const updated = await markCallProgressing(this.context.db, call.id);
    if (updated) await this.context.publish('call_progressing', toCall(updated));
  }

  /** An outgoing call's far end rings. */
  async ringing(channelId: string): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (call?.direction !== 'outgoing') return;
    const updated = await markCallRinging(this.context.db, call.id);
    if (updated) await this.context.publish('call_ringing', toCall(updated));
  }

  /** An outgoing call was answered and entered the Stasis app: it is progressing and its flow starts. */
  async outgoingAnswered(channelId: string): Promise<void> {
    await this.answered(channelId);
    const call = await findCallByChannel(this.context.db, channelId);
    if (call?.direction === 'outgoing') await this.outgoing.answered(call);
  }

  /**
   * The call's channel is gone: record who ended it and why, and stop its activeflow. An
   * outgoing call's reason is a category (`outgoingEndReason`: `noanswer`, `busy`, `failed`,
   * `cancel` before the answer, `normal` after it), an incoming call's Asterisk's cause text.
   */
  async hungUp(channelId: string, reason: string, by: 'remote' | 'local' = 'remote', cause?: number): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (!call) return;
    if (call.direction === 'outgoing') this.outgoing.forget(call.id);
    const why = call.direction === 'outgoing' ? outgoingEndReason(call, reason, by, cause) : reason;
    const ended = await markCallHangup(this.context.db, call.id, by, why);
    if (!ended) return;
    await this.context.publish('call_hangup', toCall(ended));
    if (ended.activeflow_id) await this.runner.stop(ended.activeflow_id, 'the call hung up', { hangup: false });
  }

  async dtmf(channelId: string, digit: string, durationMs: number): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (!call) return;
    await this.context.publish('call_dtmf_received', { call_id: call.id, customer_id: call.customer_id, digit, duration: durationMs, tm_create: toApiTimestamp(new Date()) });
  }

  /**
   * The customer's call with this id. Every operation asked for from outside (RPC, public API)
   * names the customer it acts for; another customer's call is a 404 exactly like a missing one.
   */
  private async customerCall(customerId: string, callId: string) {
    const call = await findCustomerCall(this.context.db, customerId, callId);
    if (!call) throw notFound('Call');
    return call;
  }

  /** The customer's live call with this id, or a 404 / 409 explaining why there is none. */
  private async liveCall(customerId: string, callId: string) {
    const call = await this.customerCall(customerId, callId);
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    return callHandle(call);
  }

  async answerCall(customerId: string, callId: string): Promise<void> {
    await this.control.answer(await this.liveCall(customerId, callId));
  }

  /** Connects a call's audio to pipeline-manager's media leg. */
  async startExternalMedia(customerId: string, callId: string, request: ExternalMediaRequest): Promise<ExternalMedia> {
    return this.control.startExternalMedia(await this.liveCall(customerId, callId), request);
  }

  async attachExternalMedia(customerId: string, callId: string): Promise<ExternalMedia> {
    return this.control.attachExternalMedia(await this.liveCall(customerId, callId));
  }

  async stopExternalMedia(customerId: string, callId: string, channelId?: string): Promise<void> {
    await this.control.stopExternalMedia(callHandle(await this.customerCall(customerId, callId)), channelId);
  }

  /** Adds a per-direction media leg (a snoop carried over RTP) to the customer's live call. */
  async startSnoopMedia(customerId: string, callId: string, request: SnoopMediaRequest): Promise<SnoopMedia> {
    return this.control.startSnoopMedia(await this.liveCall(customerId, callId), request);
  }

  /** Removes one of the call's snoop media legs; a leg the call does not have (any more) is a 404. */
  async stopSnoopMedia(customerId: string, callId: string, channelId: string): Promise<void> {
    const call = await this.customerCall(customerId, callId);
    if (!(await this.control.stopSnoopMedia(callHandle(call), channelId))) throw notFound('Snoop media leg');
  }

  async stopMedia(customerId: string, callId: string): Promise<void> {
    await this.control.stopMedia(await this.liveCall(customerId, callId));
  }

  /**
   * Plays media on a call in the background (the RPC answers at once); a failure is logged
   * and published as `call_play_failed`.
   */
  async play(customerId: string, callId: string, urls: string[]): Promise<void> {
    const call = await this.liveCall(customerId, callId);
    void this.control.play(call, urls, new AbortController().signal).catch(async (error: unknown) => {
      this.context.logger.warn({ err: error, callId }, 'play failed');
    });
  }

  /** Calls destinations and bridges the first that answers with the call, in the background. */
  async connect(customerId: string, callId: string, option: ConnectOption): Promise<void> {
    const call = await this.liveCall(customerId, callId);
    void this.control.connect(call, option, new AbortController().signal).catch((error: unknown) => {
      this.context.logger.warn({ err: error, callId }, 'connect failed');
    });
  }

  /** Creates a mixing bridge owned by the customer; answers its id (ours, not the telephony side's). */
  async createBridge(customerId: string, name: string): Promise<string> {
    const controlId = await this.control.createBridge(name);
    return (await insertBridge(this.context.db, { customerId, controlId, name })).id;
  }

  /** Moves calls into a bridge: the bridge and every call must be the customer's. */
  async addToBridge(customerId: string, bridgeId: string, callIds: string[]): Promise<void> {
    const bridge = await this.customerBridge(customerId, bridgeId);
    const calls = await Promise.all(callIds.map((callId) => this.liveCall(customerId, callId)));
    await this.control.addToBridge(bridge.control_id, calls);
  }

  async removeFromBridge(customerId: string, bridgeId: string, callIds: string[]): Promise<void> {
    const bridge = await this.customerBridge(customerId, bridgeId);
    const calls = await Promise.all(callIds.map((callId) => this.liveCall(customerId, callId)));
    await this.control.removeFromBridge(bridge.control_id, calls);
  }

  async destroyBridge(customerId: string, bridgeId: string): Promise<void> {
    const bridge = await this.customerBridge(customerId, bridgeId);
    await this.control.destroyBridge(bridge.control_id);
    await markBridgeDestroyed(this.context.db, bridge.id);
  }

  private async customerBridge(customerId: string, bridgeId: string) {
    const bridge = await findCustomerBridge(this.context.db, customerId, bridgeId);
    if (!bridge) throw notFound('Bridge');
    return bridge;
  }

  /** Hangs a call of the customer's up from our side (API, RPC). */
  async hangupCall(customerId: string, callId: string, reason: string): Promise<Call> {
    const call = await this.customerCall(customerId, callId);
    if (call.status === 'hangup') return toCall(call);
    if (isUnansweredOutgoing(call)) return this.outgoing.cancel(call);
    await this.control.hangup(callHandle(call), reason);
    const ended = await markCallHangup(this.context.db, call.id, 'local', reason);
    if (!ended) return toCall((await findCall(this.context.db, callId))!);
    await this.context.publish('call_hangup', toCall(ended));
    if (ended.activeflow_id) await this.runner.stop(ended.activeflow_id, 'the call was hung up', { hangup: false });
    return toCall(ended);
  }
}
