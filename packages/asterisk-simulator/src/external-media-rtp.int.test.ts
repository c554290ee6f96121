import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBytes, encodeSamples, FORMATS, rms, type MediaFormat } from './media/codecs.ts';
import { buildRtpPacket, parseRtpPacket, type RtpPacket } from './media/rtp-packet.ts';
import { sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import type { Caller } from './caller/scripted-caller.ts';
import type { RtpEndpoint } from './media/rtp-endpoint.ts';
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

/** Sends 10 frames of a 1 kHz tone in `format` to the leg, paced at 20 ms. */
async function sendTone(local: { address: string; port: number }, format: MediaFormat, payloadType = FORMATS[format].payloadType): Promise<void> {
  const info = FORMATS[format];
  const tone = sineTone(1000, 200);
  const legTone = format === 'slin16' ? tone : tone.filter((_sample, index) => index % 2 === 0);
  for (let frame = 0; frame < 10; frame += 1) {
    const payload = encodeSamples(format, legTone.subarray(frame * info.frameSamples, (frame + 1) * info.frameSamples), 'big');
    socket.send(buildRtpPacket({ payloadType, sequenceNumber: frame, timestamp: frame * info.frameSamples, ssrc: 42, marker: frame === 0, payload }), local.port, local.address);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(['ulaw', 'alaw', 'slin16'] as const)('externalMedia RTP %s', (format) => {
  it('sends one burst of RTP for what the caller says: unmarked, contiguous, nothing before or after', async () => {
    const info = FORMATS[format];
    const { caller } = await bridgedCall(format);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([]);
    await caller.play(sineTone(440, 300));
    await waitUntil(() => received.length >= 15);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const packets = received.map((entry) => entry.packet as RtpPacket);
    expect(packets.every((packet) => packet !== null)).toBe(true);
    expect(packets).toHaveLength(15);
    expect(new Set(packets.map((packet) => packet.payloadType))).toEqual(new Set([info.payloadType]));
    expect(new Set(packets.map((packet) => packet.payload.length))).toEqual(new Set([info.frameBytes]));
    expect(new Set(packets.map((packet) => packet.ssrc)).size).toBe(1);
    expect(received[0]?.raw[0]).toBe(0x80);
    expect(packets.map((packet) => packet.marker)).toEqual(packets.map(() => false));
    expect(packets[0]?.timestamp).toBe(info.frameSamples);
    for (let index = 1; index < packets.length; index += 1) {
      const previous = packets[index - 1] as RtpPacket;
      const current = packets[index] as RtpPacket;
      expect(current.sequenceNumber).toBe((previous.sequenceNumber + 1) & 0xffff);
      expect(current.timestamp - previous.timestamp).toBe(info.frameSamples);
    }
    expect(packets.every((packet) => rms(decodeBytes(format, packet.payload, 'big')) > 1000)).toBe(true);
  });
});

describe.each(['ulaw', 'alaw'] as const)('externalMedia RTP %s from the application', (format) => {
  it('plays RTP sent back to the caller', async () => {
    const { caller, local } = await bridgedCall(format);
    const heard = caller.waitForAudio();
    await sendTone(local, format);
    await heard;
    await caller.waitForSilence();
    expect(caller.heardSegments.length).toBeGreaterThanOrEqual(1);
  });
});

describe('externalMedia RTP slin16 from the application', () => {
  it('drops slin16 (payload type 118) as Asterisk does, but plays G.711 sent to the same leg', async () => {
    const { caller, local, mediaId } = await bridgedCall('slin16');
    await sendTone(local, 'slin16');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(caller.heardSegments).toEqual([]);
    const leg = simulator.asterisk.channels.get(mediaId)?.farEnd as RtpEndpoint;
    expect(leg.stats).toMatchObject({ packetsReceived: 0, wrongPayloadType: 10 });
    const heard = caller.waitForAudio();
    await sendTone(local, 'ulaw');
    await heard;
  });
});

describe('externalMedia RTP timing', () => {
  it('answers before the channel is in Stasis: bridging it at once is refused with 422', async () => {
    await simulator.close();
    simulator = await startAsteriskSimulator({ stasisEntryDelayMs: 200 });
    ari = new PlainAriClient(simulator.url);
    events.close();
    events = await ari.events('media');
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
    const media = await ari.request('POST', '/channels/externalMedia', { app: 'media', external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' });
    expect(media.body).toMatchObject({ state: 'Down', dialplan: { app_name: 'AppDial2' } });
    const id = media.body.id as string;
    expect(await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: id })).toEqual({
      status: 422,
      body: { message: 'Channel not in Stasis application' },
    });
    expect((await ari.request('GET', `/channels/${id}`)).body).toMatchObject({ state: 'Down' });
    expect(events.typesFor(id)).toEqual([]);
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === id);
    expect(events.typesFor(id)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect((await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: id })).status).toBe(204);
  });

  it('marks the first packet after a pause with a timestamp that jumps by it, and ends a burst with a short packet', async () => {
    const { caller } = await bridgedCall('ulaw');
    // 310 ms: 15 whole frames and 10 ms more, sent as a last packet of 80 bytes.
    await caller.play(sineTone(440, 310));
    await waitUntil(() => received.length >= 16);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toHaveLength(16);
    await caller.play(sineTone(440, 100));
    await waitUntil(() => received.length >= 21);
    const packets = received.map((entry) => entry.packet as RtpPacket);
    expect(packets.map((packet) => packet.payload.length)).toEqual([...Array<number>(15).fill(160), 80, 160, 160, 160, 160, 160]);
    expect(packets.map((packet) => packet.marker)).toEqual([...Array<boolean>(16).fill(false), true, false, false, false, false]);
    const short = packets[15] as RtpPacket;
    const after = packets[16] as RtpPacket;
    expect(short.timestamp - (packets[14] as RtpPacket).timestamp).toBe(80);
    expect(after.sequenceNumber).toBe((short.sequenceNumber + 1) & 0xffff);
    // The jump is whole 20 ms ticks of wall clock: at least the 300 ms waited.
    const jump = after.timestamp - short.timestamp;
    expect(jump % 160).toBe(0);
    expect(jump).toBeGreaterThanOrEqual(300 * 8);
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
    // 50 frames spoken; about half arrive, and sequence numbers show the gaps.
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
