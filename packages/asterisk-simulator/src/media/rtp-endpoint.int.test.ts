import { createSocket, type Socket } from 'node:dgram';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSamples, type MediaFormat } from './codecs.ts';
import { RtpEndpoint } from './rtp-endpoint.ts';
import { buildRtpPacket, parseRtpPacket, type RtpPacket } from './rtp-packet.ts';
import { sineTone } from './wav.ts';

let app: Socket;
let received: RtpPacket[];
let endpoint: RtpEndpoint | undefined;

beforeEach(async () => {
  app = createSocket('udp4');
  received = [];
  app.on('message', (raw) => {
    const packet = parseRtpPacket(raw);
    if (packet) received.push(packet);
  });
  await new Promise<void>((resolve) => app.bind(0, '127.0.0.1', resolve));
});

afterEach(() => {
  endpoint?.close();
  app.close();
});

async function open(format: MediaFormat): Promise<RtpEndpoint> {
  endpoint = await RtpEndpoint.open({ bindAddress: '127.0.0.1', remoteHost: '127.0.0.1', remotePort: app.address().port, format });
  return endpoint;
}

async function arrived(count: number): Promise<void> {
  const deadline = Date.now() + 2000;
  while (received.length < count) {
    if (Date.now() > deadline) throw new Error(`${received.length} of ${count} packets arrived`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Media ticks for the endpoint: a number is a frame of that many 16 kHz samples, null a tick without audio. */
function run(leg: RtpEndpoint, ticks: (number | null)[]): void {
  const tone = sineTone(440, 20);
  for (const tick of ticks) leg.consume(tick === null ? null : tone.subarray(0, tick));
}

describe('RTP that the simulated Asterisk sends (res_rtp_asterisk timestamps)', () => {
  it('sends nothing without audio, and does not mark the first packet, stamped with its own samples', async () => {
    const leg = await open('ulaw');
    run(leg, [null, null, null, 320, 320]);
    await arrived(2);
    expect(received.map((packet) => [packet.marker, packet.timestamp, packet.payload.length])).toEqual([
      [false, 160, 160],
      [false, 320, 160],
    ]);
    expect(received[1]?.sequenceNumber).toBe(((received[0]?.sequenceNumber ?? 0) + 1) & 0xffff);
  });

  it('closes gaps shorter than 80 ms, and marks the packet after a longer gap with a timestamp that jumps by it', async () => {
    const leg = await open('ulaw');
    run(leg, [320, null, null, null, 320, null, null, null, null, 320]);
    await arrived(3);
    // 3 silent ticks: 480 samples from the prediction, under Asterisk's 640 skew: no jump, no marker.
    expect(received[1]).toMatchObject({ marker: false, timestamp: 320 });
    // 4 silent ticks: 640 off, so the wall clock wins: 5 ticks after the last packet, marked.
    expect(received[2]).toMatchObject({ marker: true, timestamp: 320 + 5 * 160 });
  });

  it('ends a burst with a short packet carrying only the real samples', async () => {
    const leg = await open('ulaw');
    run(leg, [320, 100, null, null, null, null, null, 320]);
    await arrived(3);
    expect(received.map((packet) => packet.payload.length)).toEqual([160, 50, 160]);
    expect(received.map((packet) => packet.timestamp)).toEqual([160, 210, 210 + 6 * 160]);
    expect(received.map((packet) => packet.marker)).toEqual([false, false, true]);
  });

  it('counts slin16 time in 16 kHz samples: a gap of 40 ms already starts a new talkspurt', async () => {
    const leg = await open('slin16');
    run(leg, [320, null, 320, null, null, 320]);
    await arrived(3);
    expect(received.map((packet) => [packet.payloadType, packet.payload.length, packet.marker, packet.timestamp])).toEqual([
      [118, 640, false, 320],
      [118, 640, false, 640],
      [118, 640, true, 640 + 3 * 320],
    ]);
  });
});

describe('RTP that the simulated Asterisk receives on a UnicastRTP channel', () => {
  const send = (leg: RtpEndpoint, payloadType: number, payload: Buffer, sequenceNumber: number) =>
    app.send(buildRtpPacket({ payloadType, sequenceNumber, timestamp: sequenceNumber * 160, ssrc: 5, marker: false, payload }), leg.localPort, '127.0.0.1');

  async function settle(leg: RtpEndpoint, packets: number): Promise<void> {
    const deadline = Date.now() + 2000;
    while (leg.stats.packetsReceived + leg.stats.wrongPayloadType < packets) {
      if (Date.now() > deadline) throw new Error('packets did not arrive');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('drops slin16 (payload type 118) even on a slin16 leg: only static payload types are known', async () => {
    const leg = await open('slin16');
    send(leg, 118, encodeSamples('slin16', sineTone(440, 20), 'big'), 1);
    await settle(leg, 1);
    expect(leg.stats).toMatchObject({ packetsReceived: 0, wrongPayloadType: 1 });
    expect(leg.produce()).toBeNull();
  });

  it('accepts G.711 on a slin16 leg and converts it (Asterisk transcodes)', async () => {
    const leg = await open('slin16');
    send(leg, 0, encodeSamples('ulaw', sineTone(440, 20).filter((_sample, index) => index % 2 === 0), 'big'), 1);
    await settle(leg, 1);
    expect(leg.stats).toMatchObject({ packetsReceived: 1, wrongPayloadType: 0 });
    const frame = leg.produce();
    expect(frame?.length).toBe(320);
    expect(frame?.some((sample) => Math.abs(sample) > 1000)).toBe(true);
  });
});
