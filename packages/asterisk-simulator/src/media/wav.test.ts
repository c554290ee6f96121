import { describe, expect, it } from 'vitest';
import { buildStereoWav } from './wav.ts';

describe('buildStereoWav', () => {
  it('interleaves two tracks, padding the shorter one with silence', () => {
    const wav = buildStereoWav(Int16Array.from([1, 2, 3]), Int16Array.from([-1]), 8000);
    expect(wav.toString('ascii', 0, 4)).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(36 + 12);
    expect(wav.readUInt16LE(22)).toBe(2);
    expect(wav.readUInt32LE(24)).toBe(8000);
    expect(wav.readUInt32LE(28)).toBe(8000 * 4);
    expect(wav.readUInt16LE(32)).toBe(4);
    expect(wav.readUInt32LE(40)).toBe(12);
    const samples = Array.from({ length: 6 }, (_, index) => wav.readInt16LE(44 + index * 2));
    expect(samples).toEqual([1, -1, 2, 0, 3, 0]);
  });
});
