import { describe, expect, it } from 'vitest';
import { malformedPackets, seededRandom } from './faults.ts';
import { buildRtpPacket, parseRtpPacket } from './rtp-packet.ts';

describe('RTP packets', () => {
  it('builds a version 2 header with marker, payload type, sequence, timestamp and SSRC', () => {
    const packet = buildRtpPacket({ payloadType: 118, sequenceNumber: 65_535, timestamp: 2 ** 32 - 1, ssrc: 0xdeadbeef, marker: true, payload: Buffer.from([9, 9]) });
    expect([...packet.subarray(0, 12)]).toEqual([0x80, 0x80 | 118, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xde, 0xad, 0xbe, 0xef]);
    expect(parseRtpPacket(packet)).toEqual({ payloadType: 118, sequenceNumber: 65_535, timestamp: 2 ** 32 - 1, ssrc: 0xdeadbeef, marker: true, payload: Buffer.from([9, 9]) });
  });

  it('skips CSRCs and header extensions and strips padding', () => {
    const header = Buffer.from([0xb1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
    const csrc = Buffer.alloc(4);
    const extension = Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4]);
    const payload = Buffer.from([7, 7, 7]);
    const padding = Buffer.from([0, 2]);
    expect(parseRtpPacket(Buffer.concat([header, csrc, extension, payload, padding]))?.payload).toEqual(payload);
  });

  it('rejects every kind of malformed packet the fault injector sends', () => {
    for (const packet of malformedPackets(20, seededRandom(1))) expect(parseRtpPacket(packet)).toBeNull();
  });
});
