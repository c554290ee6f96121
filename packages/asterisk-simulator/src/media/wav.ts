import { readFile, writeFile } from 'node:fs/promises';
import { buildWav as buildSharedWav, parseWav, wavHeader, type PcmAudio } from '@avp/shared';
import { ENGINE_SAMPLE_RATE } from './codecs.ts';

/** WAV reading and writing come from @avp/shared; the simulator adds its engine-rate defaults. */
export { parseWav, type PcmAudio } from '@avp/shared';

/** A mono PCM16 WAV (16 kHz unless given). */
export function buildWav(samples: Int16Array, sampleRate = ENGINE_SAMPLE_RATE): Buffer {
  return buildSharedWav({ sampleRate, samples });
}

/** A stereo PCM16 WAV from two mono tracks (left, right); the shorter one is padded with silence. */
export function buildStereoWav(left: Int16Array, right: Int16Array, sampleRate = ENGINE_SAMPLE_RATE): Buffer {
  const frames = Math.max(left.length, right.length);
  const out = Buffer.alloc(44 + frames * 4);
  wavHeader(sampleRate, 2, frames * 4).copy(out, 0);
  for (let index = 0; index < frames; index += 1) {
    out.writeInt16LE(left[index] ?? 0, 44 + index * 4);
    out.writeInt16LE(right[index] ?? 0, 46 + index * 4);
  }
  return out;
}

export async function readWavFile(path: string): Promise<PcmAudio> {
  return parseWav(await readFile(path));
}

export async function writeWavFile(path: string, samples: Int16Array, sampleRate = ENGINE_SAMPLE_RATE): Promise<void> {
  await writeFile(path, buildWav(samples, sampleRate));
}

/** Linear-interpolation resampling to the engine rate (for loading prompts, not for live media). */
export function toEngineRate(audio: PcmAudio): Int16Array {
  if (audio.sampleRate === ENGINE_SAMPLE_RATE) return audio.samples;
  const ratio = audio.sampleRate / ENGINE_SAMPLE_RATE;
  const length = Math.floor(audio.samples.length / ratio);
  const out = new Int16Array(length);
  for (let index = 0; index < length; index += 1) {
    const position = index * ratio;
    const left = Math.floor(position);
    const fraction = position - left;
    const a = audio.samples[left] ?? 0;
    const b = audio.samples[left + 1] ?? a;
    out[index] = Math.round(a + (b - a) * fraction);
  }
  return out;
}

/** A sine tone at the engine rate, handy for tests and prompts. */
export function sineTone(frequency: number, durationMs: number, amplitude = 8000): Int16Array {
  const length = Math.round((ENGINE_SAMPLE_RATE * durationMs) / 1000);
  const out = new Int16Array(length);
  for (let index = 0; index < length; index += 1) {
    out[index] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * index) / ENGINE_SAMPLE_RATE));
  }
  return out;
}
