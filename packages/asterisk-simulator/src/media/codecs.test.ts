import { describe, expect, it } from 'vitest';
import { bytesToPcm, decodeBytes, encodeSamples, mixFrames, pcmToBytes, RateConverter, rms } from './codecs.ts';
import { sineTone } from './wav.ts';

describe('codecs', () => {
  it('round-trips G.711 u-law and A-law within companding error', () => {
    const samples = Int16Array.from([0, 1000, -1000, 12_000, -30_000]);
    for (const format of ['ulaw', 'alaw'] as const) {
      const decoded = decodeBytes(format, encodeSamples(format, samples, 'big'), 'big');
      samples.forEach((sample, index) => expect(Math.abs((decoded[index] ?? 0) - sample)).toBeLessThanOrEqual(Math.abs(sample) * 0.07 + 16));
    }
    expect(encodeSamples('ulaw', new Int16Array(160), 'big')).toHaveLength(160);
  });

  it('writes linear PCM big-endian for RTP and little-endian for WebSocket', () => {
    const samples = Int16Array.from([0x0102]);
    expect([...pcmToBytes(samples, 'big')]).toEqual([1, 2]);
    expect([...pcmToBytes(samples, 'little')]).toEqual([2, 1]);
    expect([...bytesToPcm(Buffer.from([1, 2]), 'big')]).toEqual([0x0102]);
  });

  it('mixes by summing and clipping to int16', () => {
    const mixed = mixFrames([Int16Array.from([30_000, -30_000, 5]), Int16Array.from([10_000, -10_000, 6])], 3);
    expect([...mixed]).toEqual([32_767, -32_768, 11]);
  });

  it('converts 16 kHz to 8 kHz and back keeping a voice-band tone', () => {
    const down = new RateConverter(16_000, 8000);
    const up = new RateConverter(8000, 16_000);
    const tone = sineTone(440, 100);
    const back = up.convert(down.convert(tone));
    expect(back).toHaveLength(tone.length);
    expect(Math.abs(rms(back) - rms(tone)) / rms(tone)).toBeLessThan(0.1);
  });
});
