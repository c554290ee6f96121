import { describe, expect, it } from 'vitest';
import { synthesizeWithEspeak } from './espeak.ts';
import { createStreamResampler, resampleClip } from './resample.ts';
import { buildWav, parseWav } from './wav.ts';

function tone(frequency: number, sampleRate: number, seconds: number, amplitude = 10_000): Int16Array {
  return Int16Array.from({ length: Math.round(sampleRate * seconds) }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate)));
}

function rms(samples: Int16Array): number {
  return Math.sqrt(samples.reduce((sum, value) => sum + value * value, 0) / samples.length);
}

describe('audio', () => {
  it('writes and reads WAV files', () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768]);
    expect(parseWav(buildWav({ sampleRate: 8000, samples }))).toEqual({ sampleRate: 8000, samples });
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(/RIFF/);
  });

  it('resamples a clip to the new length, keeping level and timing', async () => {
    const input = { sampleRate: 22050, samples: tone(440, 22050, 0.5) };
    const output = await resampleClip(input, 8000);
    expect(output.sampleRate).toBe(8000);
    expect(output.samples.length).toBe(4000);
    // Level within 5 %; a 440 Hz tone sits well inside both bands.
    expect(rms(output.samples.subarray(200, 3800)) / rms(input.samples.subarray(550, 10_475))).toBeCloseTo(1, 1);
    // Aligned: the first zero crossing upward stays near the start.
    expect(Math.abs(output.samples[0]!)).toBeLessThan(2000);
  });

  it('speaks text with espeak-ng', async () => {
    const audio = await synthesizeWithEspeak('Hello from the flow.', { language: 'en-US' });
    expect(audio.sampleRate).toBe(22050);
    expect(audio.samples.length).toBeGreaterThan(22050 * 0.5);
    expect(rms(audio.samples)).toBeGreaterThan(500);
    // espeak-ng falls back to its default voice for an unknown one rather than failing.
    const fallback = await synthesizeWithEspeak('x', { voice: 'no-such-voice-xyz' });
    expect(fallback.samples.length).toBeGreaterThan(0);
  });
});

describe('createStreamResampler', () => {
  it('resamples a stream in chunks of any size to the length and level of the input', async () => {
    const input = tone(440, 24_000, 1);
    const resampler = await createStreamResampler(24_000, 16_000);
    const parts: Int16Array[] = [];
    for (let offset = 0; offset < input.length; offset += 5000) parts.push(resampler.process(input.subarray(offset, offset + 5000)));
    resampler.destroy();
    const total = parts.reduce((sum, part) => sum + part.length, 0);
    expect(Math.abs(total - 16_000)).toBeLessThan(100);
    const joined = new Int16Array(total);
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    expect(rms(joined.subarray(1000, 15_000)) / rms(input.subarray(1500, 22_500))).toBeCloseTo(1, 1);
  });
});
