import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import type { TelephonyKind } from '../test-telephony.ts';
import { eventsOf, inboundCall, loudUlaw, rtpPeer, sleep, tone, useContractContext, type ContractContext } from './contract-context.ts';

type Peer = Awaited<ReturnType<typeof rtpPeer>>;

/** Packets with sound among those the peer received from `from` on. */
const loudCount = (peer: Peer, from = 0) => peer.packets.slice(from).filter(({ packet }) => loudUlaw(packet.payload)).length;

/**
 * A snoop on `channelId` carried to an RTP peer as flow-manager builds a per-direction media leg:
 * the snoop channel (entering the app by itself) and a u-law externalMedia channel, bridged
 * together in a mixing bridge of their own.
 */
async function snoopLeg(context: ContractContext, channelId: string, spy: 'in' | 'out') {
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const snoopId = `contract-snoop-${suffix}`;
  const mediaId = `contract-snoop-rtp-${suffix}`;
  const bridgeId = `contract-snoop-bridge-${suffix}`;
  const from = context.app.received.length;
  const snoopStarted = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === snoopId, 5000, "the snoop's StasisStart");
  const snoop = await context.app.request('POST', `/channels/${channelId}/snoop`, { app: context.app.app, spy, snoopId, appArgs: `transcribe,${spy}` });
  await snoopStarted;
  const peer = await rtpPeer();
  const mediaStarted = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === mediaId, 5000, "the leg's StasisStart");
  await context.app.request('POST', '/channels/externalMedia', {
    app: context.app.app,
    channelId: mediaId,
    external_host: `127.0.0.1:${peer.port}`,
    format: 'ulaw',
    encapsulation: 'rtp',
    transport: 'udp',
  });
  await mediaStarted;
  await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
  await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${snoopId},${mediaId}` });
  // addChannel answers before the events: the leg is ready once both are seen in the bridge
  // (a test that counts events from here on must not see these late ones).
  await eventually(
    () => [snoopId, mediaId].every((id) => eventsOf(context.app, id, from).some((event) => event.type === 'ChannelEnteredBridge')),
    'the snoop leg in its bridge',
    5000,
  );
  const close = async () => {
    peer.close();
    await context.app.request('DELETE', `/channels/${snoopId}`).catch(() => undefined);
    await context.app.request('DELETE', `/channels/${mediaId}`).catch(() => undefined);
    await context.app.request('DELETE', `/bridges/${bridgeId}`).catch(() => undefined);
  };
  return { snoop, snoopId, mediaId, bridgeId, peer, from, close };
}

/** Plays a tone on a channel (what the caller hears) for `ms`, then stops it. */
async function playToChannel(context: ContractContext, channelId: string, ms: number): Promise<void> {
  const playbackId = `contract-snoop-play-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const started = context.app.waitFor((event) => event.type === 'PlaybackStarted' && event.playback?.id === playbackId, 5000, 'PlaybackStarted');
  await context.app.request('POST', `/channels/${channelId}/play`, { media: 'tone:440', playbackId });
  await started;
  await sleep(ms);
  await context.app.request('DELETE', `/playbacks/${playbackId}`).catch(() => undefined);
}

/**
 * Snoop channels as flow-manager uses them for per-direction media legs (live transcription),
 * against the simulator and a real Asterisk 23: what each spy direction carries (measured by
 * energy: the caller speaks a tone, a tone is played to the caller), the events of a snoop, and
 * its end with its target.
 */
export function snoopContract(kind: TelephonyKind): void {
  const contextOf = useContractContext(kind);

  it('spy=in: answers an Up channel Snoop/<target id>-<8 hex> whose first event is its StasisStart (with appArgs); its peer gets a steady stream with the caller\'s voice and not what is played to the caller', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const leg = await snoopLeg(context, channelId, 'in');
    try {
      expect(leg.snoop).toMatchObject({ id: leg.snoopId, state: 'Up' });
      expect(leg.snoop.name).toMatch(new RegExp(`^Snoop/${channelId}-[0-9a-f]{8}$`));
      const snoopEvents = eventsOf(context.app, leg.snoopId, leg.from);
      expect(snoopEvents[0]).toMatchObject({ type: 'StasisStart', args: ['transcribe', 'in'] });

      // A snoop reads every 20 ms: silence while the caller is quiet (not nothing, as a bridged call sends).
      await sleep(500);
      expect(leg.peer.packets.length).toBeGreaterThanOrEqual(15);
      expect(loudCount(leg.peer)).toBe(0);
      expect(leg.peer.packets[0]!.packet).toMatchObject({ payloadType: 0 });

      const spoke = leg.peer.packets.length;
      await caller.play(tone(600));
      await eventually(() => loudCount(leg.peer, spoke) >= 10, "the caller's voice on the snoop leg", 5000);

      await sleep(300);
      const played = leg.peer.packets.length;
      const hears = caller.waitForAudio(5000);
      await playToChannel(context, channelId, 600);
      await hears;
      await sleep(200);
      expect(leg.peer.packets.length - played).toBeGreaterThanOrEqual(20);
      expect(loudCount(leg.peer, played)).toBe(0);
    } finally {
      await leg.close();
      caller.hangup();
    }
  });

  it("spy=out: its peer gets what is played to the caller and what another call says into the caller's bridge, not the caller's own voice", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const leg = await snoopLeg(context, channelId, 'out');
    const other = await inboundCall(context);
    const bridgeId = `contract-snoop-call-${Date.now()}`;
    try {
      await sleep(300);
      expect(leg.peer.packets.length).toBeGreaterThanOrEqual(8);
      expect(loudCount(leg.peer)).toBe(0);

      const played = leg.peer.packets.length;
      await playToChannel(context, channelId, 600);
      await eventually(() => loudCount(leg.peer, played) >= 10, 'what is played to the caller on the snoop leg', 5000);

      await sleep(300);
      const spoke = leg.peer.packets.length;
      await caller.play(tone(600));
      await sleep(300);
      expect(leg.peer.packets.length - spoke).toBeGreaterThanOrEqual(20);
      expect(loudCount(leg.peer, spoke)).toBe(0);

      // In a bridge with another call: what the other caller says is what the caller hears.
      await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
      await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${channelId},${other.channelId}` });
      await sleep(200);
      const otherSpoke = leg.peer.packets.length;
      const hears = caller.waitForAudio(5000);
      await other.caller.play(tone(600));
      await hears;
      await eventually(() => loudCount(leg.peer, otherSpoke) >= 10, 'the other call on the snoop leg', 5000);
      await sleep(300);
      const bridgedSpoke = leg.peer.packets.length;
      const otherHears = other.caller.waitForAudio(5000);
      await caller.play(tone(600));
      await otherHears;
      await sleep(300);
      expect(loudCount(leg.peer, bridgedSpoke)).toBe(0);
    } finally {
      await leg.close();
      await context.app.request('DELETE', `/bridges/${bridgeId}`).catch(() => undefined);
      other.caller.hangup();
      caller.hangup();
    }
  });

  it('ends a snoop with its target: ChannelLeftBridge and StasisEnd, no hang-up request and nothing after; its externalMedia channel and bridge stay', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const leg = await snoopLeg(context, channelId, 'in');
    try {
      const from = context.app.received.length;
      const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === leg.snoopId, 5000, "the snoop's StasisEnd");
      caller.hangup();
      await ended;
      await sleep(500);
      const types = eventsOf(context.app, leg.snoopId, from)
        .map((event) => event.type)
        .filter((type) => type !== 'ChannelVarset');
      expect(types).toEqual(['ChannelLeftBridge', 'StasisEnd']);
      await expect(context.app.request('GET', `/channels/${leg.snoopId}`)).rejects.toMatchObject({ status: 404 });
      // Nothing else goes with it: whoever made the leg removes the rest.
      expect((await context.app.request('GET', `/channels/${leg.mediaId}`)).state).toBe('Up');
      const bridge = await context.app.request('GET', `/bridges/${leg.bridgeId}`);
      expect(bridge.channels).toEqual([leg.mediaId]);
    } finally {
      await leg.close();
    }
  });

  it('hangs a snoop up over ARI (ChannelHangupRequest soft, ChannelLeftBridge, StasisEnd, nothing after) and leaves its target alone; the snoop is still listed (and no longer hung up: 404) until audio passes its target', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const leg = await snoopLeg(context, channelId, 'in');
    try {
      const from = context.app.received.length;
      const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === leg.snoopId, 5000, "the snoop's StasisEnd");
      await context.app.request('DELETE', `/channels/${leg.snoopId}`);
      await ended;
      await sleep(500);
      const events = eventsOf(context.app, leg.snoopId, from).filter((event) => event.type !== 'ChannelVarset');
      expect(events.map((event) => event.type)).toEqual(['ChannelHangupRequest', 'ChannelLeftBridge', 'StasisEnd']);
      expect(events[0]).toMatchObject({ soft: true });
      expect((await context.app.request('GET', `/channels/${channelId}`)).state).toBe('Up');
      expect(eventsOf(context.app, channelId, from).some((event) => event.type === 'StasisEnd' || event.type === 'ChannelHangupRequest')).toBe(false);

      // Asterisk destroys the snoop when its audiohook is detached, on the next frame through the
      // target: until then it is listed, but out of the app (ARI cannot hang it up any more).
      const listed = async () => (await context.app.request<{ id: string }[]>('GET', '/channels')).some((channel) => channel.id === leg.snoopId);
      expect(await listed()).toBe(true);
      expect((await context.app.request('GET', `/channels/${leg.snoopId}`)).state).toBe('Up');
      await expect(context.app.request('DELETE', `/channels/${leg.snoopId}`)).rejects.toMatchObject({ status: 404 });
      await caller.play(tone(300));
      await eventually(async () => !(await listed()), 'the ended snoop to be destroyed once the caller speaks', 5000);
      await expect(context.app.request('GET', `/channels/${leg.snoopId}`)).rejects.toMatchObject({ status: 404 });
    } finally {
      await leg.close();
      caller.hangup();
    }
  });
}
