import { describe, expect, it } from 'vitest';
import { channelOf, decodeWav, interleaveStereo, stereoLayout, wavHeader, wavHeaderBytes } from './wav.ts';

function monoWav(samples: number[], sampleRate = 8000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, index) => data.writeInt16LE(sample, index * 2));
  return Buffer.concat([wavHeader(sampleRate, 1, data.length), data]);
}

describe('WAV files of recordings', () => {
  it('reads the mono 16-bit WAV Asterisk writes, skipping chunks it does not know', () => {
    const plain = monoWav([1, -2, 3]);
    expect(decodeWav(plain)).toEqual({ sampleRate: 8000, channels: 1, samples: Int16Array.from([1, -2, 3]) });
    // A LIST chunk between fmt and data, and a data size beyond the end (a file cut short).
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.alloc(1)]);
    const odd = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    odd.writeUInt32LE(1000, 36 + list.length + 4);
    expect(decodeWav(odd).samples).toEqual(Int16Array.from([1, -2, 3]));
  });

  it('refuses what is not 16-bit PCM WAV', () => {
    expect(() => decodeWav(Buffer.from('not a wav file at all'))).toThrow(/RIFF/);
    const eightBit = monoWav([0, 0]);
    eightBit.writeUInt16LE(8, 34);
    expect(() => decodeWav(eightBit)).toThrow(/16-bit/);
  });

  it('interleaves the two sides, left the caller and right what it heard, padding the shorter with silence at the end', () => {
    const stereo = interleaveStereo({ sampleRate: 8000, samples: Int16Array.from([10, 11, 12]) }, { sampleRate: 8000, samples: Int16Array.from([-20]) });
    expect(stereo.length).toBe(wavHeaderBytes + 3 * 4);
    expect(stereoLayout(stereo)).toEqual({ sampleRate: 8000, frames: 3 });
    expect(decodeWav(stereo)).toMatchObject({ sampleRate: 8000, channels: 2 });
    const data = stereo.subarray(wavHeaderBytes);
    expect([0, 2, 4, 6, 8, 10].map((offset) => data.readInt16LE(offset))).toEqual([10, -20, 11, 0, 12, 0]);
    expect(channelOf(data, 0)).toEqual(monoWav([10, 11, 12]).subarray(wavHeaderBytes));
    expect(channelOf(data, 1)).toEqual(monoWav([-20, 0, 0]).subarray(wavHeaderBytes));
    // The header says what a player needs: 2 channels, 4 bytes a frame, 32000 bytes a second.
    expect([stereo.readUInt16LE(22), stereo.readUInt32LE(28), stereo.readUInt16LE(32), stereo.readUInt32LE(4)]).toEqual([2, 32_000, 4, 36 + 12]);
  });

  it('pads the left side when the right one is longer, and joins two empty sides into an empty file', () => {
    const data = interleaveStereo({ sampleRate: 16_000, samples: new Int16Array(0) }, { sampleRate: 16_000, samples: Int16Array.from([5, 6]) }).subarray(wavHeaderBytes);
    expect([0, 2, 4, 6].map((offset) => data.readInt16LE(offset))).toEqual([0, 5, 0, 6]);
    expect(stereoLayout(interleaveStereo({ sampleRate: 8000, samples: new Int16Array(0) }, { sampleRate: 8000, samples: new Int16Array(0) }))).toEqual({ sampleRate: 8000, frames: 0 });
  });

  it('refuses sides of different rates', () => {
    expect(() => interleaveStereo({ sampleRate: 8000, samples: new Int16Array(1) }, { sampleRate: 16_000, samples: new Int16Array(1) })).toThrow(/sample rates/);
  });
});
