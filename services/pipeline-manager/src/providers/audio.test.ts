import { describe, expect, it } from 'vitest';
import { LinearResampler, parseWavHeader, Pcm16Decoder } from './audio.ts';
import { EventChannel } from './event-channel.ts';
import { collect } from './testing/collect.ts';

function sine(rate: number, frequency: number, samples: number): Int16Array {
  return Int16Array.from({ length: samples }, (_value, index) => Math.round(10_000 * Math.sin((2 * Math.PI * frequency * index) / rate)));
}

describe('audio helpers', () => {
  it('resamples 24 kHz to 16 kHz with the same result in one piece or in odd chunks', () => {
    const input = sine(24_000, 440, 2_400);
    const whole = new LinearResampler(24_000, 16_000).process(input);
    expect(whole.length).toBe(1_600);
    const chunked = new LinearResampler(24_000, 16_000);
    const parts = [input.subarray(0, 7), input.subarray(7, 1_001), input.subarray(1_001)].map((part) => chunked.process(part));
    const joined = Int16Array.from(parts.flatMap((part) => [...part]));
    expect(joined.length).toBe(whole.length);
    expect([...joined]).toEqual([...whole]);
    // Output sample k is input sample 1.5k: a sine stays a sine.
    expect(Math.abs(whole[100]! - input[150]!)).toBeLessThan(5);
  });

  it('decodes little-endian PCM split at odd byte boundaries', () => {
    const decoder = new Pcm16Decoder();
    const bytes = Buffer.alloc(6);
    [1, -2, 300].forEach((value, index) => bytes.writeInt16LE(value, index * 2));
    const first = decoder.decode(new Uint8Array(bytes.subarray(0, 3)));
    const second = decoder.decode(new Uint8Array(bytes.subarray(3)));
    expect([...first, ...second]).toEqual([1, -2, 300]);
  });

  it('parses a WAV header, waiting for enough bytes', () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(0xffffffff, 4);
    header.write('WAVEfmt ', 8);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(22_050, 24);
    header.writeUInt32LE(44_100, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(0xffffffff, 40);
    expect(parseWavHeader(new Uint8Array(header.subarray(0, 30)))).toBeUndefined();
    expect(parseWavHeader(new Uint8Array(header))).toEqual({ sampleRate: 22_050, channels: 1, bitsPerSample: 16, dataOffset: 44 });
    expect(() => parseWavHeader(new Uint8Array(Buffer.from('NOT A WAV FILE')))).toThrow(/RIFF/);
  });

  it('bounds the event queue: a reader that stops gets an error, not unbounded memory', async () => {
    const channel = new EventChannel<number>(3);
    for (let index = 0; index < 5; index++) channel.push(index);
    await expect(collect(channel)).rejects.toThrow(/over 3 items/);
  });
});
