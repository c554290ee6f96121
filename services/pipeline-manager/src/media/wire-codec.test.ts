import alawmulaw from 'alawmulaw';
import { describe, expect, it } from 'vitest';
import { FRAME_SAMPLES, FrameChunker } from './audio-format.ts';
import { g711Codec } from './g711.ts';
import { concatSamples, dominantFrequency, rms, sineWave, toneMagnitude } from './testing/signals.ts';
import { createWireCodecPair } from './wire-codec.ts';

describe('G.711 tables', () => {
  it('match alawmulaw sample for sample in both laws', () => {
    const samples = new Int16Array(65_536);
    for (let index = 0; index < samples.length; index += 1) samples[index] = index - 32_768;
    for (const [name, library] of [['ulaw', alawmulaw.mulaw], ['alaw', alawmulaw.alaw]] as const) {
      const encoded = new Uint8Array(samples.length);
      g711Codec(name).encode(samples, encoded);
      expect(Buffer.from(encoded).equals(Buffer.from(library.encode(samples)))).toBe(true);
      const decoded = new Int16Array(samples.length);
      g711Codec(name).decode(encoded, decoded);
      expect(Array.from(decoded)).toEqual(Array.from(library.decode(encoded)));
    }
  });
});

describe('wire codec', () => {
  it('keeps a 1 kHz tone at its frequency and level through 8 -> 16 -> 8 kHz (u-law)', async () => {
    const pair = await createWireCodecPair('ulaw', 'big');
    const tone = sineWave(1000, 8000, 8000, 8000);
    const wideFrames: Int16Array[] = [];
    const narrowOut: Int16Array[] = [];
    const payload = new Uint8Array(160);
    const wire = new Uint8Array(160);
    for (let offset = 0; offset < tone.length; offset += 160) {
      g711Codec('ulaw').encode(tone.subarray(offset, offset + 160), payload);
      pair.decoder.decode(payload, (frame) => {
        wideFrames.push(frame.slice());
        pair.encoder.encode(frame, wire);
        const decoded = new Int16Array(160);
        g711Codec('ulaw').decode(wire, decoded);
        narrowOut.push(decoded);
      });
    }
    pair.destroy();
    expect(wideFrames).toHaveLength(50);
    const wide = concatSamples(wideFrames).subarray(1600);
    expect(dominantFrequency(wide, 16_000, 500, 4000)).toBe(1000);
    const narrow = concatSamples(narrowOut).subarray(800);
    expect(dominantFrequency(narrow, 8000, 500, 3900)).toBe(1000);
    const inputLevel = toneMagnitude(tone.subarray(800), 1000, 8000);
    // Level within 0.5 dB after two resamplings and two G.711 passes.
    expect(Math.abs(20 * Math.log10(toneMagnitude(narrow, 1000, 8000) / inputLevel))).toBeLessThan(0.5);
    expect(Math.abs(20 * Math.log10(toneMagnitude(wide, 1000, 16_000) / inputLevel))).toBeLessThan(0.5);
  });

  it('produces continuous frames from payloads of any size', async () => {
    const pair = await createWireCodecPair('alaw', 'big');
    const tone = sineWave(440, 8000, 4000, 5000);
    const encoded = new Uint8Array(tone.length);
    g711Codec('alaw').encode(tone, encoded);
    let frames = 0;
    const sizes = [1, 7, 160, 333, 80, 2000];
    let offset = 0;
    for (let index = 0; offset < encoded.length; index += 1) {
      const size = sizes[index % sizes.length] as number;
      pair.decoder.decode(encoded.subarray(offset, offset + size), (frame) => {
        expect(frame).toHaveLength(FRAME_SAMPLES);
        frames += 1;
      });
      offset += size;
    }
    pair.destroy();
    expect(frames).toBe(25);
  });

  it('passes slin16 through unchanged in either byte order', async () => {
    for (const order of ['big', 'little'] as const) {
      const pair = await createWireCodecPair('slin16', order);
      const samples = sineWave(300, 16_000, FRAME_SAMPLES, 20_000);
      samples[0] = -32_768;
      samples[1] = 32_767;
      const wire = new Uint8Array(640);
      pair.encoder.encode(samples, wire);
      const view = new DataView(wire.buffer);
      expect(view.getInt16(2, order === 'little')).toBe(32_767);
      const received: Int16Array[] = [];
      pair.decoder.decode(wire, (frame) => received.push(frame.slice()));
      expect(Array.from(received[0] ?? [])).toEqual(Array.from(samples));
    }
  });

  it('conceals a gap with silence without a click', async () => {
    const pair = await createWireCodecPair('ulaw', 'big');
    const frames: Int16Array[] = [];
    pair.decoder.conceal(40, (frame) => frames.push(frame.slice()));
    expect(frames).toHaveLength(2);
    expect(rms(concatSamples(frames))).toBe(0);
    pair.destroy();
  });
});

describe('FrameChunker', () => {
  it('cuts arbitrary chunks into 20 ms frames and pads the tail', () => {
    const chunker = new FrameChunker();
    const frames = [...chunker.push(new Int16Array(500).fill(1)), ...chunker.push(new Int16Array(300).fill(2))];
    expect(frames).toHaveLength(2);
    const tail = chunker.flush();
    expect(tail?.[159]).toBe(2);
    expect(tail?.[160]).toBe(0);
    expect(chunker.flush()).toBeUndefined();
  });
});
