import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBytes, encodeSamples, FORMATS, rms, type MediaFormat } from './media/codecs.ts';
import { buildRtpPacket, parseRtpPacket, type RtpPacket } from './media/rtp-packet.ts';
import { sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import type { Caller } from './caller/scripted-caller.ts';
import { PlainAriClient, type EventStream } from './testing/plain-ari-client.ts';

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;
let socket: Socket;
let received: { packet: RtpPacket | null; raw: Buffer }[];

beforeEach(async () => {
  simulator = await startAsteriskSimulator();
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('media');
  socket = createSocket('udp4');
  received = [];
  socket.on('message', (raw) => received.push({ raw, packet: parseRtpPacket(raw) }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  socket.close();
  events.close();
  await simulator.close();
});

/** Caller in the app, answered, bridged with an externalMedia RTP channel pointing at the test socket. */
async function bridgedCall(format: MediaFormat): Promise<{ caller: Caller; local: { address: string; port: number }; mediaId: string }> {
  const caller = simulator.placeCall({ app: 'media' });
  await ari.request('POST', `/channels/${caller.id}/answer`);
  const media = await ari.request('POST', '/channels/externalMedia', {
    app: 'media',
    external_host: `127.0.0.1:${socket.address().port}`,
    format,
  });
  expect(media.status).toBe(200);
  expect(media.body.name).toMatch(/^UnicastRTP\/127\.0\.0\.1:\d+-0x/);
  const vars = media.body.channelvars as Record<string, string>;
  expect(vars.UNICASTRTP_LOCAL_ADDRESS).toBe('127.0.0.1');
  await events.next('StasisStart', (event) => (event.channel as { id: string }).id === media.body.id);
  const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
  await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${caller.id},${media.body.id}` });
  return { caller, local: { address: vars.UNICASTRTP_LOCAL_ADDRESS as string, port: Number(vars.UNICASTRTP_LOCAL_PORT) }, mediaId: media.body.id as string };
}

async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(['ulaw', 'alaw', 'slin16'] as const)('externalMedia RTP %s', (format) => {
  it('sends correct RTP for what the caller says and plays RTP sent back to the caller', async () => {
    const info = FORMATS[format];
    const { caller, local } = await bridgedCall(format);
    await caller.play(sineTone(440, 300));
    // A quiet frame may precede the tone under load, so wait for the 15 tone frames themselves,
    // then a little longer to catch any extra packet.
    const isLoud = (packet: RtpPacket | null): boolean => packet !== null && rms(decodeBytes(format, packet.payload, 'big')) > 1000;
    await waitUntil(() => received.filter((entry) => isLoud(entry.packet)).length >= 15);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const packets = received.map((entry) => entry.packet as RtpPacket);
    expect(packets.every((packet) => packet !== null)).toBe(true);
    expect(new Set(packets.map((packet) => packet.payloadType))).toEqual(new Set([info.payloadType]));
    expect(new Set(packets.map((packet) => packet.payload.length))).toEqual(new Set([info.frameBytes]));
    expect(new Set(packets.map((packet) => packet.ssrc)).size).toBe(1);
    expect(received[0]?.raw[0]).toBe(0x80);
    expect(packets.map((packet) => packet.marker)).toEqual([true, ...packets.slice(1).map(() => false)]);
    for (let index = 1; index < packets.length; index += 1) {
      const previous = packets[index - 1] as RtpPacket;
      const current = packets[index] as RtpPacket;
      expect(current.sequenceNumber).toBe((previous.sequenceNumber + 1) & 0xffff);
      expect(current.timestamp - previous.timestamp).toBe(info.frameSamples);
    }
    expect(packets.filter(isLoud).length).toBe(15);

    // RTP from the application reaches the caller.
    const heard = caller.waitForAudio();
    const tone = sineTone(1000, 200);
    const legTone = format === 'slin16' ? tone : tone.filter((_sample, index) => index % 2 === 0);
    for (let frame = 0; frame < 10; frame += 1) {
      const payload = encodeSamples(format, legTone.subarray(frame * info.frameSamples, (frame + 1) * info.frameSamples), 'big');
      const packet = buildRtpPacket({ payloadType: info.payloadType, sequenceNumber: frame, timestamp: frame * info.frameSamples, ssrc: 42, marker: frame === 0, payload });
      socket.send(packet, local.port, local.address);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await heard;
    await caller.waitForSilence();
    expect(caller.heardSegments.length).toBeGreaterThanOrEqual(1);
  });
});

describe('externalMedia RTP faults', () => {
  it('rejects a missing external_host the way Asterisk does', async () => {
    const response = await ari.request('POST', '/channels/externalMedia', { app: 'media', format: 'ulaw' });
    expect(response).toEqual({ status: 400, body: { message: 'external_host is required for all but websocket server connections' } });
  });

  it('drops packets towards the application when the caller injects loss', async () => {
    const { caller } = await bridgedCall('ulaw');
    expect(caller.injectFaults({ lossPercent: 50, seed: 3 })).toBe(1);
    await caller.play(sineTone(440, 1000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // 50 frames spoken (plus silence frames); about half arrive, and sequence numbers show the gaps.
    const sequences = received.map((entry) => (entry.packet as RtpPacket).sequenceNumber);
    const span = (sequences.at(-1) as number) - (sequences[0] as number) + 1;
    expect(received.length).toBeLessThan(span * 0.75);
    expect(received.length).toBeGreaterThan(span * 0.25);
  });

  it('reorders packets and sends a burst of malformed packets', async () => {
    const { caller } = await bridgedCall('ulaw');
    caller.injectFaults({ reorderPercent: 30, seed: 5 });
    await caller.play(sineTone(440, 400));
    await new Promise((resolve) => setTimeout(resolve, 60));
    const sequences = received.map((entry) => (entry.packet as RtpPacket).sequenceNumber);
    const outOfOrder = sequences.filter((sequence, index) => index > 0 && sequence < (sequences[index - 1] as number)).length;
    expect(outOfOrder).toBeGreaterThan(0);

    received.length = 0;
    expect(caller.sendMalformedBurst(10)).toBe(1);
    await waitUntil(() => received.filter((entry) => entry.packet === null).length >= 10);
  });

  it('ignores malformed packets from the application and keeps the call up', async () => {
    const { caller, local, mediaId } = await bridgedCall('ulaw');
    for (const bad of [Buffer.from([1, 2, 3]), Buffer.alloc(200, 0x40)]) socket.send(bad, local.port, local.address);
    const heard = caller.waitForAudio();
    const tone = sineTone(1000, 200).filter((_sample, index) => index % 2 === 0);
    for (let frame = 0; frame < 10; frame += 1) {
      const payload = encodeSamples('ulaw', tone.subarray(frame * 160, (frame + 1) * 160), 'big');
      socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: frame, timestamp: frame * 160, ssrc: 9, marker: false, payload }), local.port, local.address);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await heard;
    expect((await ari.request('GET', `/channels/${mediaId}`)).status).toBe(200);
  });
});
