import type { Logger } from '@avp/shared';
import type { AriClient } from './ari-client.ts';
import type { AriConnects } from './ari-connect.ts';
import type { AriExternalMedia } from './ari-external-media.ts';
import type { AriPlaybacks } from './ari-playbacks.ts';
import type { StoredMediaLeg, StoredObject, TelephonyRecords } from './ari-records.ts';
import type { AriRecordings } from './ari-recordings.ts';
import type { AriSnoops } from './ari-snoops.ts';
import type { AriChannel } from './ari-types.ts';

/** Ids flow-manager gives what it creates in Asterisk: anything else there is not its own. */
const ownChannel = /^(media|connect|snoop|recording|call)-/;
const ownBridge = /^(media|connect|bridge|snoop)-/;

export interface AriReconcilerParts {
  client: AriClient;
  records: TelephonyRecords;
  externalMedia: AriExternalMedia;
  connects: AriConnects;
  snoops: AriSnoops;
  recordings: AriRecordings;
  playbacks: AriPlaybacks;
  logger: Logger;
  /** Ends a call whose channel is gone (as a hang-up event would). */
  channelGone(channelId: string, reason: string): Promise<void>;
  /** Bridges made over RPC by this process whose owner may not be recorded yet. */
  isRecentBridge(bridgeId: string): boolean;
}

/**
 * Compares what flow-manager recorded with what Asterisk has, after the events socket
 * (re)connects, i.e. at start and after every outage: Asterisk keeps channels and bridges
 * while flow-manager is away, and nothing else would ever remove them.
 *
 * - A call whose channel vanished is ended.
 * - An external media leg is re-adopted when its call and the leg are still up and its AI
 *   session still goes on (`TelephonyRecords.sessionLive`); otherwise it is hung up and its
 *   bridge destroyed. Legs this process runs are only checked for a vanished leg channel.
 * - A `connect` left by a dead process is adopted while the caller and its bridge are up,
 *   removed otherwise; a playback nobody waits for is stopped.
 * - A snoop media leg is kept (or adopted, when a dead process left it) while it is whole: the
 *   caller, the snoop, its RTP channel and its bridge all up; otherwise what is left is removed.
 * - A recording is kept (or adopted) while a snoop of it is up; one whose snoops are all gone
 *   is finished: its files are fetched from Asterisk and stored.
 * - Channels and bridges with flow-manager's id prefixes that nothing records are removed.
 */
export class AriReconciler {
  constructor(private readonly parts: AriReconcilerParts) {}

  async reconcile(): Promise<void> {
    const { client, logger } = this.parts;
    let channels: Map<string, AriChannel>;
    let bridges: Set<string>;
    try {
      const [channelList, bridgeList] = await Promise.all([client.listChannels(), client.listBridges()]);
      channels = new Map(channelList.map((channel) => [channel.id, channel]));
      bridges = new Set(bridgeList.map((bridge) => bridge.id));
    } catch (error) {
      logger.warn({ err: error }, 'could not list channels and bridges to reconcile');
      return;
    }
    try {
      await this.endVanishedCalls(channels);
      // An outgoing call's channel (`call-...`) is named by its live call record.
      const known = new Set<string>(await this.parts.records.liveChannels());
      await this.mediaLegs(channels, bridges, known);
      await this.connectsAndPlaybacks(channels, bridges, known);
      await this.customerBridges(bridges, known);
      await this.orphans(channels, bridges, known);
    } catch (error) {
      // The next reconnect tries again; meanwhile calls go on.
      logger.error({ err: error }, 'reconciling with Asterisk failed');
    }
  }

  private async endVanishedCalls(channels: Map<string, AriChannel>): Promise<void> {
    const vanished = (await this.parts.records.liveChannels()).filter((channelId) => !channels.has(channelId));
    if (vanished.length > 0) this.parts.logger.warn({ vanished: vanished.length }, 'ending calls whose channels vanished while disconnected');
    for (const channelId of vanished) await this.parts.channelGone(channelId, 'the channel vanished while ARI was disconnected');
  }

  private async mediaLegs(channels: Map<string, AriChannel>, bridges: Set<string>, known: Set<string>): Promise<void> {
    const { externalMedia, records, logger } = this.parts;
    const keep = (leg: Pick<StoredMediaLeg, 'channelId' | 'bridgeId'>) => known.add(leg.channelId).add(leg.bridgeId);
    const stored = new Map((await records.mediaLegs()).map((leg) => [leg.callId, leg]));
    // Legs of this process (and those being created): only a leg channel that vanished (its
    // peer went away while we were not listening) takes its bridge with it.
    for (const callId of externalMedia.callIds()) {
      const channelId = externalMedia.channelOf(callId)!;
      const leg = stored.get(callId);
      stored.delete(callId);
      if (!channels.has(channelId)) await externalMedia.stop(callId);
      else keep(leg ?? { channelId, bridgeId: externalMedia.bridgeOf(callId)! });
    }
    const left: StoredMediaLeg[] = [];
    for (const leg of stored.values()) {
      if (externalMedia.isStarting(leg.callId)) keep(leg);
      else left.push(leg);
    }
    // Asked at once for every leg: events wait for the reconcile, and each answer may take seconds.
    const live = await Promise.all(
      left.map(async (leg) => channels.has(leg.channelId) && channels.has(leg.callerChannelId) && bridges.has(leg.bridgeId) && (await records.sessionLive(leg.callId))),
    );
    for (const [index, leg] of left.entries()) {
      const channel = channels.get(leg.channelId);
      if (live[index] && channel) {
        externalMedia.adopt(leg, !leg.pending || channel.state === 'Up');
        keep(leg);
        logger.info({ callId: leg.callId, channelId: leg.channelId }, 'external media leg of a live AI session re-adopted');
      } else {
        await externalMedia.discard(leg);
        logger.info({ callId: leg.callId, channelId: leg.channelId }, 'external media leg of an ended call or session removed');
      }
    }
  }

  private async connectsAndPlaybacks(channels: Map<string, AriChannel>, bridges: Set<string>, known: Set<string>): Promise<void> {
    const { connects, playbacks, records } = this.parts;
    for (const object of await records.objects()) {
      if (object.kind === 'playback') {
        if (!playbacks.isKnown(object.id)) await playbacks.discard(object);
        continue;
      }
      if (object.kind === 'snoop') {
        await this.snoopLeg(object, channels, bridges, known);
        continue;
      }
      if (object.kind === 'recording') {
        this.recording(object, channels, known);
        continue;
      }
      const ids = [...object.channelIds, ...(object.bridgeId ? [object.bridgeId] : [])];
      if (connects.isRunning(object.id)) {
        for (const id of ids) known.add(id);
        continue;
      }
      // Left by a dead process: worth keeping only while the caller talks with a callee.
      const talking =
        channels.has(object.callerChannelId) &&
        object.bridgeId !== undefined &&
        bridges.has(object.bridgeId) &&
        object.channelIds.some((channelId) => channels.has(channelId));
      if (talking) {
        if (!connects.isAdopted(object.id)) connects.adopt(object);
        for (const id of ids) known.add(id);
      } else {
        await connects.discard(object);
      }
    }
  }

  private async snoopLeg(object: StoredObject, channels: Map<string, AriChannel>, bridges: Set<string>, known: Set<string>): Promise<void> {
    const { snoops, logger } = this.parts;
    const ids = [...object.channelIds, ...(object.bridgeId ? [object.bridgeId] : [])];
    const keep = () => ids.forEach((id) => known.add(id));
    if (snoops.isStarting(object.id)) return keep();
    const whole =
      channels.has(object.callerChannelId) && object.channelIds.every((channelId) => channels.has(channelId)) && object.bridgeId !== undefined && bridges.has(object.bridgeId);
    if (snoops.isRunning(object.id)) {
      if (whole) return keep();
      // Part of it vanished while we were not listening: the rest goes too.
      await snoops.stop(object.id);
    } else if (whole) {
      snoops.adopt(object);
      keep();
      logger.info({ callId: object.callId, channelId: object.id }, 'snoop media leg of a live call re-adopted');
    } else {
      await snoops.discard(object);
      logger.info({ callId: object.callId, channelId: object.id }, 'snoop media leg of an ended call removed');
    }
  }

  private recording(object: StoredObject, channels: Map<string, AriChannel>, known: Set<string>): void {
    const { recordings, logger } = this.parts;
    for (const id of object.channelIds) known.add(id);
    if (recordings.isRunning(object.id)) return;
    if (object.channelIds.some((channelId) => channels.has(channelId))) {
      recordings.adopt(object, (channelId) => channels.has(channelId));
      logger.info({ callId: object.callId, recordingId: object.id }, 'recording of a live call re-adopted');
    } else {
      recordings.finishLeft(object);
      logger.info({ callId: object.callId, recordingId: object.id }, 'recording that ended while flow-manager was away finished');
    }
  }

  private async customerBridges(bridges: Set<string>, known: Set<string>): Promise<void> {
    const recorded = await this.parts.records.customerBridges();
    const vanished = [...recorded].filter((bridgeId) => !bridges.has(bridgeId));
    if (vanished.length > 0) await this.parts.records.forgetCustomerBridges(vanished);
    for (const bridgeId of recorded) known.add(bridgeId);
  }

  private async orphans(channels: Map<string, AriChannel>, bridges: Set<string>, known: Set<string>): Promise<void> {
    const { client, logger, isRecentBridge } = this.parts;
    // A Local channel's second half is `<id>;2` (Asterisk names it after the first).
    const channelIds = [...channels.keys()].filter((id) => ownChannel.test(id) && !known.has(id.replace(/;\d+$/, '')));
    const bridgeIds = [...bridges].filter((id) => ownBridge.test(id) && !known.has(id) && !isRecentBridge(id));
    if (channelIds.length + bridgeIds.length > 0) logger.warn({ channels: channelIds, bridges: bridgeIds }, 'removing channels and bridges nothing records');
    for (const id of channelIds) await client.hangup(id).catch(() => undefined);
    for (const id of bridgeIds) await client.destroyBridge(id).catch(() => undefined);
  }
}
