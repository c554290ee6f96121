import { describe, expect, it } from 'vitest';
import { buildRtpPacket, parseRtpPacket, sequenceDistance } from './rtp-packet.ts';

describe('RTP packets', () => {
  it('round-trips header fields and payload', () => {
    const payload = new Uint8Array([1, 2, 3, 4]);
    const packet = buildRtpPacket({ payloadType: 118, marker: true, sequenceNumber: 65_535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef }, payload);
    expect(packet[0]).toBe(0x80);
    const parsed = parseRtpPacket(packet);
    expect(parsed).toMatchObject({ payloadType: 118, marker: true, sequenceNumber: 65_535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef });
    expect(typeof parsed === 'string' ? [] : Array.from(parsed.payload)).toEqual([1, 2, 3, 4]);
  });

  it('skips CSRCs and header extensions and strips padding', () => {
    const packet = new Uint8Array(12 + 4 + 8 + 3 + 2);
    packet[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, one CSRC
    packet[1] = 0;
    packet[16 + 3] = 1; // extension length: one 32-bit word
    packet.set([9, 8, 7], 24);
    packet[packet.length - 1] = 2; // two padding bytes
    const parsed = parseRtpPacket(packet);
    expect(typeof parsed === 'string' ? parsed : Array.from(parsed.payload)).toEqual([9, 8, 7]);
  });

  it('rejects malformed datagrams with a reason instead of throwing', () => {
    expect(parseRtpPacket(new Uint8Array(5))).toBe('too-short');
    expect(parseRtpPacket(new Uint8Array(12))).toBe('bad-version');
    const csrc = new Uint8Array(12);
    csrc[0] = 0x8f;
    expect(parseRtpPacket(csrc)).toBe('bad-csrc-count');
    const extension = new Uint8Array(16);
    extension[0] = 0x90;
    extension[15] = 5;
    expect(parseRtpPacket(extension)).toBe('bad-extension');
    const padding = new Uint8Array(14);
    padding[0] = 0xa0;
    padding[13] = 40;
    expect(parseRtpPacket(padding)).toBe('bad-padding');
  });

  it('measures sequence distance across the 16-bit wrap', () => {
    expect(sequenceDistance(65_534, 1)).toBe(3);
    expect(sequenceDistance(1, 65_534)).toBe(-3);
    expect(sequenceDistance(100, 100)).toBe(0);
  });
});
