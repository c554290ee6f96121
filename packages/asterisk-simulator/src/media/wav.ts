import { readFile, writeFile } from 'node:fs/promises';
import { ENGINE_SAMPLE_RATE } from './codecs.ts';

/** Mono PCM16 audio with its rate. */
export interface PcmAudio {
  sampleRate: number;
  samples: Int16Array;
}

/** Reads a PCM16 WAV file (mono or stereo; stereo is averaged to mono). */
export function parseWav(data: Buffer): PcmAudio {
  if (data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let channels = 0;
  let sampleRate = 0;
  let bitsPerSample = 0;
  let format = 0;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = data.readUInt16LE(body);
      channels = data.readUInt16LE(body + 2);
      sampleRate = data.readUInt32LE(body + 4);
      bitsPerSample = data.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if ((format !== 1 && format !== 0xfffe) || bitsPerSample !== 16 || channels < 1) {
        throw new Error(`unsupported WAV encoding (format ${format}, ${bitsPerSample} bits): use PCM16`);
      }
      const end = Math.min(data.length, body + size);
      const frames = Math.floor((end - body) / (2 * channels));
      const samples = new Int16Array(frames);
      for (let frame = 0; frame < frames; frame += 1) {
        let sum = 0;
        for (let channel = 0; channel < channels; channel += 1) sum += data.readInt16LE(body + (frame * channels + channel) * 2);
        samples[frame] = Math.round(sum / channels);
      }
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

export function buildWav(samples: Int16Array, sampleRate = ENGINE_SAMPLE_RATE): Buffer {
  const header = Buffer.alloc(44);
  const dataBytes = samples.length * 2;
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  const body = Buffer.alloc(dataBytes);
  for (let index = 0; index < samples.length; index += 1) body.writeInt16LE(samples[index] ?? 0, index * 2);
  return Buffer.concat([header, body]);
}

/** A stereo PCM16 WAV from two mono tracks (left, right); the shorter one is padded with silence. */
export function buildStereoWav(left: Int16Array, right: Int16Array, sampleRate = ENGINE_SAMPLE_RATE): Buffer {
  const frames = Math.max(left.length, right.length);
  const dataBytes = frames * 4;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'ascii');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'ascii');
  out.write('fmt ', 12, 'ascii');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(2, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 4, 28);
  out.writeUInt16LE(4, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'ascii');
  out.writeUInt32LE(dataBytes, 40);
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
