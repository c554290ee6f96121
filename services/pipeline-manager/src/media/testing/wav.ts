import { readFileSync } from 'node:fs';

/** A decoded 16-bit PCM mono WAV file. */
export interface PcmWav {
  sampleRate: number;
  samples: Int16Array;
}

/** Reads a 16-bit PCM mono WAV (enough for the fixtures; other layouts are rejected). */
export function readPcmWav(path: string): PcmWav {
  const bytes = readFileSync(path);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path} is not a WAV file`);
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = bytes.readUInt16LE(body);
      const channels = bytes.readUInt16LE(body + 2);
      sampleRate = bytes.readUInt32LE(body + 4);
      const bits = bytes.readUInt16LE(body + 14);
      if ((format !== 1 && format !== 0xfffe) || channels !== 1 || bits !== 16) throw new Error(`${path}: need 16-bit PCM mono`);
    } else if (id === 'data') {
      const length = Math.min(size, bytes.length - body) >> 1;
      const samples = new Int16Array(length);
      for (let index = 0; index < length; index += 1) samples[index] = bytes.readInt16LE(body + index * 2);
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}
