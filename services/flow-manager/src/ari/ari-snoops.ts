import { randomUUID } from 'node:crypto';
import { appError, type Logger } from '@avp/shared';
import type { CallHandle, SnoopMedia, SnoopMediaRequest } from '../domain/calls/call-control.ts';
import type { AriChannels } from './ari-channels.ts';
import { AriError, type AriClient } from './ari-client.ts';
import type { StoredObject, TelephonyRecords } from './ari-records.ts';

/** One per-direction leg: a snoop on the caller, an RTP channel, and the bridge holding both. */
interface SnoopLeg {
  /** The RTP (UnicastRTP) channel: the leg's id, as the routes name it. */
  id: string;
  callId: string;
  callerChannelId: string;
  snoopChannelId: string;
  bridgeId: string;
  localAddress?: string;
  localPort?: number;
}

/**
 * Per-direction media legs (for live transcription): `POST /channels/{caller}/snoop` with `spy`
 * `in` (the caller's voice) or `out` (what the caller hears), an RTP externalMedia channel to
 * the consumer, and a mixing bridge of their own holding the two. A snoop is an audiohook on the
 * caller's channel: the caller stays in its own bridge (with an AI session's media leg, say),
 * which is never touched.
 *
 * Ids: `snoop-<uuid>` for the snoop channel and the bridge, `snoop-<uuid>-rtp` for the RTP
 * channel (the leg's id). Each leg is recorded (a `snoop` telephony object) before Asterisk has
 * any of it and forgotten once it is all gone. Asterisk ends a snoop with its target, with no
 * hang-up request (ChannelLeftBridge, StasisEnd) and leaves the RTP channel and the bridge: the
 * caller's end, or the snoop's or the RTP channel's, removes the whole leg here.
 */
export class AriSnoops {
  /** The legs this process runs (adopted ones included), by RTP channel id. */
  private readonly legs = new Map<string, SnoopLeg>();
  /** Legs being created: recorded, perhaps not all in Asterisk yet. */
  private readonly starting = new Set<string>();

  constructor(
    private readonly client: AriClient,
    private readonly channels: AriChannels,
    private readonly records: TelephonyRecords,
    private readonly logger: Logger,
    private readonly stasisMs: number,
  ) {}

  isRunning(id: string): boolean {
    return this.legs.has(id);
  }

  isStarting(id: string): boolean {
    return this.starting.has(id);
  }

  async start(call: CallHandle, request: SnoopMediaRequest): Promise<SnoopMedia> {
    const base = `snoop-${randomUUID()}`;
    const leg: SnoopLeg = { id: `${base}-rtp`, callId: call.id, callerChannelId: call.channelId, snoopChannelId: base, bridgeId: base };
    // Known before Asterisk reports them, so their StasisStart is never taken for an inbound call.
    for (const channelId of [leg.snoopChannelId, leg.id]) this.channels.state(channelId).outbound = true;
    await this.records.saveObject(stored(leg));
    this.legs.set(leg.id, leg);
    this.starting.add(leg.id);
    try {
      await this.client.createBridge(leg.bridgeId, `snoop ${call.id} ${request.direction}`);
      await this.client.snoop(call.channelId, { snoopId: leg.snoopChannelId, spy: request.direction, appArgs: `snoop,${call.id}` }).catch((error: unknown) => {
        if (error instanceof AriError && error.status === 404) throw appError('INVALID_STATE', 'The call has ended.');
        throw error;
      });
      const channel = await this.client.externalMedia({
        channelId: leg.id,
        external_host: request.externalHost,
        format: request.format,
        encapsulation: 'rtp',
        transport: 'udp',
      });
      const variables = channel.channelvars ?? {};
      leg.localAddress = variables.UNICASTRTP_LOCAL_ADDRESS;
      leg.localPort = Number(variables.UNICASTRTP_LOCAL_PORT);
      // Both enter the app after Asterisk answered; ARI bridges only channels in the app.
      await Promise.all([
        this.channels.waitForStasis(leg.snoopChannelId, this.stasisMs, 'The snoop channel'),
        this.channels.waitForStasis(leg.id, this.stasisMs, 'The RTP media channel'),
      ]);
      // The caller may have hung up meanwhile, taking the leg with it.
      if (!this.legs.has(leg.id)) throw appError('INVALID_STATE', 'The call has ended.');
      await this.client.addChannel(leg.bridgeId, [leg.snoopChannelId, leg.id]);
      if (!this.legs.has(leg.id)) throw appError('INVALID_STATE', 'The call has ended.');
      if (!leg.localAddress || !Number.isInteger(leg.localPort)) throw new Error('Asterisk did not say where the RTP of the snoop leg comes from.');
      return { channelId: leg.id, snoopChannelId: leg.snoopChannelId, bridgeId: leg.bridgeId, localAddress: leg.localAddress, localPort: leg.localPort! };
    } catch (error) {
      await this.remove(leg);
      throw error;
    } finally {
      this.starting.delete(leg.id);
    }
  }

  /** Removes a leg of the call (idempotent); false when the call has no leg with that channel id. */
  async stop(id: string, callId?: string): Promise<boolean> {
    const leg = this.legs.get(id);
    if (!leg || (callId !== undefined && leg.callId !== callId)) return false;
    await this.remove(leg);
    return true;
  }

  /** A channel's end: a caller takes all its legs with it, a snoop or RTP channel its own leg. */
  async channelGone(channelId: string): Promise<void> {
    for (const leg of [...this.legs.values()]) {
      if (leg.callerChannelId === channelId || leg.snoopChannelId === channelId || leg.id === channelId) await this.remove(leg);
    }
  }

  /** Takes over a leg a previous process left whole (caller, snoop, RTP channel and bridge up). */
  adopt(object: StoredObject): void {
    const [snoopChannelId, id] = object.channelIds;
    if (!snoopChannelId || !id || !object.bridgeId) return;
    for (const channelId of [snoopChannelId, id]) {
      this.channels.state(channelId).outbound = true;
      this.channels.enteredStasis(channelId);
    }
    this.legs.set(id, { id, callId: object.callId ?? '', callerChannelId: object.callerChannelId, snoopChannelId, bridgeId: object.bridgeId });
  }

  /** Removes what is left of a leg a previous process created, and forgets it. */
  async discard(object: StoredObject): Promise<void> {
    this.legs.delete(object.id);
    for (const channelId of object.channelIds) await this.client.hangup(channelId).catch(() => undefined);
    if (object.bridgeId) await this.client.destroyBridge(object.bridgeId).catch(() => undefined);
    await this.records.removeObject(object.id);
  }

  private async remove(leg: SnoopLeg): Promise<void> {
    if (this.legs.get(leg.id) === leg) this.legs.delete(leg.id);
    await this.client.hangup(leg.snoopChannelId).catch(() => undefined);
    await this.client.hangup(leg.id).catch((error: unknown) => this.logger.debug({ err: error, channelId: leg.id }, 'snoop media channel already gone'));
    await this.client.destroyBridge(leg.bridgeId).catch(() => undefined);
    await this.records.removeObject(leg.id);
  }
}

function stored(leg: SnoopLeg): StoredObject {
  return { id: leg.id, kind: 'snoop', callId: leg.callId, callerChannelId: leg.callerChannelId, channelIds: [leg.snoopChannelId, leg.id], bridgeId: leg.bridgeId };
}
