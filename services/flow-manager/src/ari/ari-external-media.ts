import { randomUUID } from 'node:crypto';
import type { Logger } from '@avp/shared';
import type { CallHandle, ExternalMedia, ExternalMediaRequest } from '../domain/calls/call-control.ts';
import type { AriChannels } from './ari-channels.ts';
import type { AriClient, AriConnection } from './ari-client.ts';
import type { StoredMediaLeg, TelephonyRecords } from './ari-records.ts';

/** Waits on Asterisk when connecting external media. */
export interface ExternalMediaTimeouts {
  /** For an RTP leg's StasisStart after Asterisk answered externalMedia (default 5 s). */
  stasisMs: number;
  /** For a WebSocket leg's client to connect and the leg to enter the app (default 10 s). */
  connectMs: number;
}

/** One leg: the caller's media bridge and the external media channel in it. */
interface Leg extends ExternalMedia {
  callId: string;
  callerChannelId: string;
  transport: 'rtp' | 'websocket';
}

/**
 * External media legs for pipeline-manager, in the order a real Asterisk needs:
 *
 * - RTP: create the bridge with the caller in it, create the UnicastRTP channel, wait for its
 *   StasisStart (Asterisk answers before the channel is in the app), bridge it.
 * - WebSocket (server mode): create the bridge with the caller in it and the WebSocket channel,
 *   answer with the URL to connect to; the channel stays Down and outside the app until its
 *   client connects, so `attach` (called once the client is connected) waits for its StasisStart
 *   and bridges it then.
 *
 * Every wait has a deadline; a leg that cannot be bridged is hung up with its bridge. Each leg is
 * recorded before Asterisk has it and forgotten after it is gone, so a later process can
 * re-adopt it (`adopt`) or remove it (`discard`): none outlives its call unnoticed.
 */
export class AriExternalMedia {
  private readonly legs = new Map<string, Leg>();
  /** Calls whose leg is being created: recorded already, not in `legs` yet. */
  private readonly starting = new Set<string>();
  /** Call id of the leg attached to a caller's channel. */
  private readonly callOfCallerChannel = new Map<string, string>();

  constructor(
    private readonly client: AriClient,
    private readonly channels: AriChannels,
    private readonly connection: AriConnection,
    private readonly timeouts: ExternalMediaTimeouts,
    private readonly records: TelephonyRecords,
    private readonly logger: Logger,
  ) {}

  /** The legs this process runs, by call id. */
  callIds(): string[] {
    return [...this.legs.keys()];
  }

  isStarting(callId: string): boolean {
    return this.starting.has(callId);
  }

  /** The bridge of the call's leg, if this process runs one. */
  bridgeOf(callId: string): string | undefined {
    return this.legs.get(callId)?.bridgeId;
  }

  /** The leg channel of the call's leg, if this process runs one. */
  channelOf(callId: string): string | undefined {
    return this.legs.get(callId)?.channelId;
  }

  /** The call whose leg runs on this caller channel, if any. */
  callOf(callerChannelId: string): string | undefined {
    return this.callOfCallerChannel.get(callerChannelId);
  }

  async start(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    await this.stop(call.id);
    this.starting.add(call.id);
    try {
      return await this.create(call, request);
    } finally {
      this.starting.delete(call.id);
    }
  }

  private async create(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    // A bridge of the leg's own: right after the previous leg's bridge was destroyed (a
    // takeover), a real Asterisk may still refuse its id with 409 "already exists".
    const suffix = randomUUID().slice(0, 8);
    const bridgeId = `media-${call.id}-${suffix}-bridge`;
    const channelId = `media-${call.id}-${suffix}`;
    // Known before Asterisk reports it, so its StasisStart is never taken for an inbound call.
    this.channels.state(channelId).outbound = true;
    const leg: Leg = { callId: call.id, channelId, bridgeId, callerChannelId: call.channelId, transport: request.transport, pending: request.transport === 'websocket' };
    await this.records.saveMediaLeg(stored(leg));
    try {
      await this.client.createBridge(bridgeId, `media ${call.id}`);
      await this.client.addChannel(bridgeId, [call.channelId]);
      const channel = await this.client.externalMedia({
        channelId,
        format: request.format,
        ...(request.transport === 'rtp'
          ? { external_host: request.externalHost, encapsulation: 'rtp', transport: 'udp' }
          : { external_host: 'INCOMING', encapsulation: 'none', transport: 'websocket', connection_type: 'server' }),
      });
      const variables = channel.channelvars ?? {};
      if (request.transport === 'rtp') {
        leg.localAddress = variables.UNICASTRTP_LOCAL_ADDRESS;
        leg.localPort = Number(variables.UNICASTRTP_LOCAL_PORT);
        await this.channels.waitForStasis(channelId, this.timeouts.stasisMs, 'The RTP media channel');
        await this.client.addChannel(bridgeId, [channelId]);
      } else {
        const base = this.connection.url.replace(/^http/, 'ws').replace(/\/$/, '');
        leg.websocketUrl = `${base}/media/${variables.MEDIA_WEBSOCKET_CONNECTION_ID ?? ''}`;
      }
      this.legs.set(call.id, leg);
      this.callOfCallerChannel.set(call.channelId, call.id);
      await this.records.saveMediaLeg(stored(leg));
      return publicView(leg);
    } catch (error) {
      await this.client.hangup(channelId).catch(() => undefined);
      await this.client.destroyBridge(bridgeId).catch(() => undefined);
      await this.records.removeMediaLeg(call.id, channelId);
      throw error;
    }
  }

  /**
   * For a WebSocket leg, once its client has connected: waits for the channel to enter the app
   * and bridges it with the caller. A leg already bridged (RTP) answers at once.
   */
  async attach(callId: string): Promise<ExternalMedia> {
    const leg = this.legs.get(callId);
    if (!leg) throw new Error(`No external media leg for call ${callId}.`);
    if (!leg.pending) return publicView(leg);
    try {
      await this.channels.waitForStasis(leg.channelId, this.timeouts.connectMs, 'The WebSocket media channel (its client did not connect?)');
      await this.client.addChannel(leg.bridgeId, [leg.channelId]);
    } catch (error) {
      await this.stop(callId);
      throw error;
    }
    leg.pending = false;
    await this.records.saveMediaLeg(stored(leg));
    return publicView(leg);
  }

  /**
   * Hangs the leg up and destroys its bridge (idempotent). With `channelId`, only if the call's
   * leg is that channel: a newer leg (another pipeline took the call over) stays.
   */
  async stop(callId: string, channelId?: string): Promise<void> {
    const leg = this.legs.get(callId);
    if (!leg) return;
    if (channelId !== undefined && leg.channelId !== channelId) {
      this.logger.info({ callId, channelId, current: leg.channelId }, 'not removing the external media leg: the call has a newer one');
      return;
    }
    this.legs.delete(callId);
    this.callOfCallerChannel.delete(leg.callerChannelId);
    await this.client.hangup(leg.channelId).catch((error: unknown) => this.logger.debug({ err: error, callId }, 'external media leg already gone'));
    await this.client.destroyBridge(leg.bridgeId).catch(() => undefined);
    await this.records.removeMediaLeg(callId, leg.channelId);
  }

  /**
   * Takes over a leg a previous process created and Asterisk still has: stop, attach and the
   * caller's hang-up work on it as on one created here. `inStasis`: whether Asterisk has the leg
   * channel in the app (a bridged leg is; a WebSocket leg is once its client connected).
   */
  adopt(leg: StoredMediaLeg, inStasis: boolean): void {
    this.channels.state(leg.channelId).outbound = true;
    if (inStasis) this.channels.enteredStasis(leg.channelId);
    this.legs.set(leg.callId, { ...leg });
    this.callOfCallerChannel.set(leg.callerChannelId, leg.callId);
  }

  /** Removes a leg a previous process created: hangs it up, destroys its bridge, forgets it. */
  async discard(leg: StoredMediaLeg): Promise<void> {
    this.adopt(leg, false);
    await this.stop(leg.callId);
  }
}

function stored(leg: Leg): StoredMediaLeg {
  return { ...leg };
}

function publicView(leg: Leg): ExternalMedia {
  const { callerChannelId: _, callId: _callId, transport: _transport, ...media } = leg;
  return { ...media };
}
