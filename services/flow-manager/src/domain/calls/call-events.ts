import { appError, toApiTimestamp, type Call } from '@avp/shared';
import type { ActiveflowRunner } from '../activeflows/activeflow-runner.ts';
import type { DomainContext } from '../context.ts';
import { notFound } from '../not-found.ts';
import { findNumberByValue } from '../numbers/number-service.ts';
import type { CallControl, ConnectOption, ExternalMedia, ExternalMediaRequest } from './call-control.ts';
import {
  callHandle,
  findCall,
  findCallByChannel,
  insertCall,
  markCallHangup,
  markCallProgressing,
  setCallActiveflow,
  toCall,
} from './call-store.ts';

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
  constructor(
    private readonly context: DomainContext,
    private readonly runner: ActiveflowRunner,
    private readonly control: CallControl,
  ) {}

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

  /** The call's channel is gone: record who ended it and why, and stop its activeflow. */
  async hungUp(channelId: string, reason: string, by: 'remote' | 'local' = 'remote'): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (!call) return;
    const ended = await markCallHangup(this.context.db, call.id, by, reason);
    if (!ended) return;
    await this.context.publish('call_hangup', toCall(ended));
    if (ended.activeflow_id) await this.runner.stop(ended.activeflow_id, 'the call hung up', { hangup: false });
  }

  async dtmf(channelId: string, digit: string, durationMs: number): Promise<void> {
    const call = await findCallByChannel(this.context.db, channelId);
    if (!call) return;
    await this.context.publish('call_dtmf_received', { call_id: call.id, customer_id: call.customer_id, digit, duration: durationMs, tm_create: toApiTimestamp(new Date()) });
  }

  /** The live call with this id, or a 404 / 409 explaining why there is none. */
  private async liveCall(callId: string) {
    const call = await findCall(this.context.db, callId);
    if (!call) throw notFound('Call');
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    return callHandle(call);
  }

  async answerCall(callId: string): Promise<void> {
    await this.control.answer(await this.liveCall(callId));
  }

  /** Connects a call's audio to pipeline-manager's media leg. */
  async startExternalMedia(callId: string, request: ExternalMediaRequest): Promise<ExternalMedia> {
    return this.control.startExternalMedia(await this.liveCall(callId), request);
  }

  async stopExternalMedia(callId: string): Promise<void> {
    const call = await findCall(this.context.db, callId);
    if (!call) throw notFound('Call');
    await this.control.stopExternalMedia(callHandle(call));
  }

  async stopMedia(callId: string): Promise<void> {
    await this.control.stopMedia(await this.liveCall(callId));
  }

  /**
   * Plays media on a call in the background (the RPC answers at once); a failure is logged
   * and published as `call_play_failed`.
   */
  async play(callId: string, urls: string[]): Promise<void> {
    const call = await this.liveCall(callId);
    void this.control.play(call, urls, new AbortController().signal).catch(async (error: unknown) => {
      this.context.logger.warn({ err: error, callId }, 'play failed');
    });
  }

  /** Calls destinations and bridges the first that answers with the call, in the background. */
  async connect(callId: string, option: ConnectOption): Promise<void> {
    const call = await this.liveCall(callId);
    void this.control.connect(call, option, new AbortController().signal).catch((error: unknown) => {
      this.context.logger.warn({ err: error, callId }, 'connect failed');
    });
  }

  async createBridge(name: string): Promise<string> {
    return this.control.createBridge(name);
  }

  async addToBridge(bridgeId: string, callIds: string[]): Promise<void> {
    await this.control.addToBridge(bridgeId, await Promise.all(callIds.map((callId) => this.liveCall(callId))));
  }

  async removeFromBridge(bridgeId: string, callIds: string[]): Promise<void> {
    await this.control.removeFromBridge(bridgeId, await Promise.all(callIds.map((callId) => this.liveCall(callId))));
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    await this.control.destroyBridge(bridgeId);
  }

  /** Hangs a call up from our side (API, RPC). */
  async hangupCall(callId: string, reason: string): Promise<Call> {
    const call = await findCall(this.context.db, callId);
    if (!call) throw notFound('Call');
    if (call.status === 'hangup') return toCall(call);
    await this.control.hangup(callHandle(call), reason);
    const ended = await markCallHangup(this.context.db, call.id, 'local', reason);
    if (!ended) return toCall((await findCall(this.context.db, callId))!);
    await this.context.publish('call_hangup', toCall(ended));
    if (ended.activeflow_id) await this.runner.stop(ended.activeflow_id, 'the call was hung up', { hangup: false });
    return toCall(ended);
  }
}
