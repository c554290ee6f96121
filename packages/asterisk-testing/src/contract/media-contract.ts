import type { Socket } from 'node:dgram';
import { buildRtpPacket, encodeSamples, ENGINE_FRAME_SAMPLES, RateConverter } from '@avp/asterisk-simulator';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { TelephonyKind } from '../test-telephony.ts';
import { inboundCall, loudUlaw, rtpPeer, sleep, tone, useContractContext, type ContractContext } from './contract-context.ts';

/** Sends `ms` of a tone as paced u-law RTP from the peer's socket. */
async function sendUlawTone(socket: Socket, to: { address: string; port: number }, ms: number): Promise<void> {
  const down = new RateConverter(16_000, 8000);
  const samples = tone(ms);
  for (let frame = 0; frame * ENGINE_FRAME_SAMPLES < samples.length; frame++) {
    const payload = encodeSamples('ulaw', down.convert(samples.subarray(frame * ENGINE_FRAME_SAMPLES, (frame + 1) * ENGINE_FRAME_SAMPLES)), 'big');
    socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: frame, timestamp: frame * 160, ssrc: 7, marker: frame === 0, payload }), to.port, to.address);
    await sleep(20);
  }
}

/** An answered call in a bridge of its own, for a media leg to join. */
async function bridgedCall(context: ContractContext) {
  const call = await inboundCall(context);
  const bridgeId = `contract-media-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
  await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: call.channelId });
  return { ...call, bridgeId };
}

/**
 * External media as the platform uses it, against the simulator and a real Asterisk 23: RTP
 * legs (u-law both ways; slin16 only from Asterisk), and WebSocket legs in server mode.
 */
export function mediaContract(kind: TelephonyKind): void {
  const contextOf = useContractContext(kind);

  it('RTP u-law: answers with where to send (channelvars) before the leg is in the app; bridged after StasisStart, audio flows both ways', async () => {
    const context = contextOf();
    const { caller, bridgeId } = await bridgedCall(context);
    const peer = await rtpPeer();
    const channelId = `contract-rtp-${Date.now()}`;
    const started = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === channelId, 5000, "the leg's StasisStart");
    const media = await context.app.request('POST', '/channels/externalMedia', {
      app: context.app.app,
      channelId,
      external_host: `127.0.0.1:${peer.port}`,
      format: 'ulaw',
      encapsulation: 'rtp',
      transport: 'udp',
    });
    expect(media.channelvars).toMatchObject({ UNICASTRTP_LOCAL_ADDRESS: expect.any(String), UNICASTRTP_LOCAL_PORT: expect.stringMatching(/^\d+$/) });
    expect(media.name).toMatch(/^UnicastRTP\//);
    await started;
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: channelId });

    // A silent caller sends nothing, so Asterisk sends no RTP at all on the leg.
    await sleep(300);
    expect(peer.packets.filter(({ packet }) => loudUlaw(packet.payload))).toEqual([]);
    const quietCount = peer.packets.length;

    await caller.play(tone(400));
    await eventually(() => peer.packets.filter(({ packet }) => loudUlaw(packet.payload)).length >= 10, "the caller's voice on the leg", 5000);
    const first = peer.packets[quietCount]!.packet;
    expect(first).toMatchObject({ payloadType: 0 });
    expect(first.payload.length).toBeLessThanOrEqual(160);

    const hears = caller.waitForAudio(5000);
    await sendUlawTone(peer.socket, { address: media.channelvars.UNICASTRTP_LOCAL_ADDRESS, port: Number(media.channelvars.UNICASTRTP_LOCAL_PORT) }, 500);
    await hears;
    peer.close();
    caller.hangup();
  });

  it('RTP slin16: Asterisk sends payload type 118 (640 bytes per 20 ms) but drops slin16 it receives', async () => {
    const context = contextOf();
    const { caller, bridgeId } = await bridgedCall(context);
    const peer = await rtpPeer();
    const channelId = `contract-slin-${Date.now()}`;
    const started = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === channelId, 5000);
    const media = await context.app.request('POST', '/channels/externalMedia', { app: context.app.app, channelId, external_host: `127.0.0.1:${peer.port}`, format: 'slin16' });
    await started;
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: channelId });
    await caller.play(tone(300));
    await eventually(() => peer.packets.some(({ packet }) => packet.payloadType === 118), 'slin16 from Asterisk', 5000);
    expect(peer.packets.find(({ packet }) => packet.payloadType === 118)!.packet.payload.length).toBe(640);
    const samples = tone(600);
    for (let frame = 0; frame < 30; frame++) {
      const payload = encodeSamples('slin16', samples.subarray(frame * 320, (frame + 1) * 320), 'big');
      peer.socket.send(buildRtpPacket({ payloadType: 118, sequenceNumber: frame, timestamp: frame * 320, ssrc: 9, marker: frame === 0, payload }), Number(media.channelvars.UNICASTRTP_LOCAL_PORT), media.channelvars.UNICASTRTP_LOCAL_ADDRESS);
      await sleep(20);
    }
    await sleep(300);
    expect(caller.heardSegments).toEqual([]);
    expect(caller.hearingAudio).toBe(false);
    peer.close();
    caller.hangup();
  });

  it('WebSocket (server mode): Down and outside the app until its client connects (bridging it earlier is a 422); then MEDIA_START, StasisStart, audio both ways, marks', async () => {
    const context = contextOf();
    const { caller, bridgeId } = await bridgedCall(context);
    const channelId = `contract-ws-${Date.now()}`;
    const media = await context.app.request('POST', '/channels/externalMedia', {
      app: context.app.app,
      channelId,
      external_host: 'INCOMING',
      encapsulation: 'none',
      transport: 'websocket',
      connection_type: 'server',
      format: 'ulaw',
    });
    expect(media.channelvars).toMatchObject({ MEDIA_WEBSOCKET_CONNECTION_ID: expect.any(String), MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '160' });
    expect((await context.app.request('GET', `/channels/${channelId}`)).state).toBe('Down');
    await sleep(200);
    expect(context.app.received.some((event) => event.type === 'StasisStart' && event.channel?.id === channelId)).toBe(false);
    await expect(context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: channelId })).rejects.toMatchObject({ status: 422 });

    const started = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === channelId, 5000, "the leg's StasisStart");
    const socket = new WebSocket(`${context.telephony.url.replace(/^http/, 'ws')}/media/${media.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID}`, ['media']);
    const texts: string[] = [];
    const binary: Buffer[] = [];
    socket.on('message', (data, isBinary) => (isBinary ? binary.push(data as Buffer) : texts.push(String(data))));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    await eventually(() => texts.some((text) => text.startsWith('MEDIA_START')), 'MEDIA_START', 5000);
    expect(texts[0]).toMatch(new RegExp(`^MEDIA_START .*channel_id:${channelId}.*format:ulaw.*optimal_frame_size:160`));
    await started;
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: channelId });

    await caller.play(tone(300));
    await eventually(() => binary.some((frame) => loudUlaw(frame)), "the caller's voice on the socket", 5000);
    const hears = caller.waitForAudio(5000);
    const down = new RateConverter(16_000, 8000);
    const samples = tone(600);
    for (let frame = 0; frame < 30; frame++) socket.send(encodeSamples('ulaw', down.convert(samples.subarray(frame * 320, (frame + 1) * 320)), 'big'));
    socket.send('MARK_MEDIA contract-mark');
    await hears;
    await eventually(() => texts.some((text) => text.startsWith('MEDIA_MARK_PROCESSED') && text.includes('contract-mark')), 'the mark to be processed', 5000);

    const gone = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === channelId, 5000, 'the leg to end with its socket');
    socket.close();
    await gone;
    caller.hangup();
  });
}
