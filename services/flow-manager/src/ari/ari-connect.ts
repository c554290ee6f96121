import { randomUUID } from 'node:crypto';
import type { Logger } from '@avp/shared';
import type { CallHandle, ConnectOption, OriginateRequest } from '../domain/calls/call-control.ts';
import type { AriChannels } from './ari-channels.ts';
import type { AriClient } from './ari-client.ts';
import type { StoredObject, TelephonyRecords } from './ari-records.ts';

/**
 * `connect`: calls the destinations, bridges the first that answers with the caller and waits
 * until the callee hangs up. The callee channels and the bridge are recorded before Asterisk
 * has them and forgotten once they are gone; a connect left by a process that died is either
 * removed (nobody answered yet, or the caller is gone) or adopted: the two sides keep talking,
 * and when either hangs up the rest is removed.
 */
export class AriConnects {
  /** Connects this process runs: their records are not left over from another process. */
  private readonly running = new Set<string>();
  /** Adopted connects, by id, and the connect each of their channels belongs to. */
  private readonly adopted = new Map<string, StoredObject>();
  private readonly adoptedByChannel = new Map<string, string>();

  constructor(
    private readonly client: AriClient,
    private readonly channels: AriChannels,
    private readonly records: TelephonyRecords,
    private readonly logger: Logger,
    private readonly telDialTemplate = 'PJSIP/{target}',
  ) {}

  /** Whether this process runs the connect (its record is not left over). */
  isRunning(id: string): boolean {
    return this.running.has(id);
  }

  isAdopted(id: string): boolean {
    return this.adopted.has(id);
  }

  async connect(call: CallHandle, option: ConnectOption, signal: AbortSignal): Promise<{ answered: boolean }> {
    // One id for the connect and its bridge: the record names what to remove.
    const id = `connect-${randomUUID()}`;
    const legs = option.destinations.map((destination) => ({ channelId: `connect-${randomUUID()}`, endpoint: this.dialString(destination) }));
    for (const leg of legs) this.channels.state(leg.channelId).outbound = true;
    this.running.add(id);
    await this.records.saveObject({ id, kind: 'connect', callId: call.id, callerChannelId: call.channelId, channelIds: legs.map((leg) => leg.channelId), bridgeId: id });
    const callerId = option.source ?? call.source;
    try {
      await Promise.all(
        legs.map((leg) =>
          this.client
            // The caller's channel as originator: the callee leg gets its formats (a Local channel
            // with none would take the widest, slin192) and its linkedid.
            .originate({ endpoint: leg.endpoint, channelId: leg.channelId, appArgs: `connect,${call.id}`, callerId, timeout: option.timeout, originator: call.channelId })
            .catch((error: unknown) => this.logger.warn({ err: error, endpoint: leg.endpoint }, 'originate failed')),
        ),
      );
      const winner = await this.channels.firstAnswered(legs.map((leg) => leg.channelId), call.channelId, option.timeout * 1000, signal);
      // Every other leg is hung up: only one callee talks to the caller.
      for (const leg of legs) if (leg.channelId !== winner) await this.client.hangup(leg.channelId).catch(() => undefined);
      if (!winner) return { answered: false };
      await this.client.createBridge(id, `connect ${call.id}`);
      await this.client.addChannel(id, [call.channelId, winner]);
      // The connection lasts until the callee hangs up (the caller hanging up ends the flow).
      await this.channels.untilHangup(winner, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
      });
      return { answered: true };
    } finally {
      // Whatever ended the connect (an answer that hung up, no answer, the caller gone, an
      // abort), no callee leg or bridge of it stays behind.
      for (const leg of legs) await this.client.hangup(leg.channelId).catch(() => undefined);
      await this.client.destroyBridge(id).catch(() => undefined);
      await this.records.removeObject(id);
      this.running.delete(id);
    }
  }

  /** The dial string of a destination: a `tel` through the template, an `endpoint` as given. */
  dialString(destination: ConnectOption['destinations'][number]): string {
    return destination.type === 'tel' ? this.telDialTemplate.replace('{target}', destination.target) : destination.target;
  }

  /**
   * An outgoing call (`POST /v1.0/calls`): originated into the app with `call,<call id>` as its
   * Stasis arguments, so its StasisStart (on the answer) names the call even after a restart.
   * The call record, saved before, names the channel: a restart ends the call when the channel
   * is gone and removes a `call-` channel no live call names. Asterisk enforces the ring timeout.
   */
  async originateCall(request: OriginateRequest): Promise<void> {
    // Known from the start, so that its answer and a hang-up of ours are told apart before StasisStart.
    this.channels.state(request.channelId);
    try {
      await this.client.originate({
        endpoint: this.dialString(request.destination),
        channelId: request.channelId,
        appArgs: `call,${request.callId}`,
        callerId: request.source,
        timeout: request.timeout,
      });
    } catch (error) {
      this.channels.remove(request.channelId);
      throw error;
    }
  }

  /** Takes over a connect a previous process left with both sides still talking. */
  adopt(connect: StoredObject): void {
    this.adopted.set(connect.id, connect);
    for (const channelId of [connect.callerChannelId, ...connect.channelIds]) {
      if (channelId !== connect.callerChannelId) this.channels.state(channelId).outbound = true;
      this.adoptedByChannel.set(channelId, connect.id);
    }
  }

  /** A channel's end: an adopted connect it was part of is removed (the caller is left alone). */
  async channelGone(channelId: string): Promise<void> {
    const id = this.adoptedByChannel.get(channelId);
    const connect = id ? this.adopted.get(id) : undefined;
    if (connect) await this.discard(connect);
  }

  /** Hangs up a connect's callee channels, destroys its bridge and forgets it. */
  async discard(connect: StoredObject): Promise<void> {
    this.adopted.delete(connect.id);
    for (const channelId of [connect.callerChannelId, ...connect.channelIds]) {
      if (this.adoptedByChannel.get(channelId) === connect.id) this.adoptedByChannel.delete(channelId);
    }
    for (const channelId of connect.channelIds) await this.client.hangup(channelId).catch(() => undefined);
    if (connect.bridgeId) await this.client.destroyBridge(connect.bridgeId).catch(() => undefined);
    await this.records.removeObject(connect.id);
  }
}
