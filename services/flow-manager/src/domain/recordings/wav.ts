import { wavHeader } from '@avp/shared';
/** Mono 16-bit PCM as read from a WAV file. */
export interface MonoPcm {
  sampleRate: number;
  samples: Int16Array;
}

/** Bytes of the canonical header `encodeWav` writes (RIFF, fmt of 16 bytes, data). */
export const wavHeaderBytes = 44;

/**
 * Reads a 16-bit PCM WAV (what Asterisk's `wav` format writes: 8 kHz mono). Chunks other than
 * `fmt ` and `data` are skipped; a `data` size larger than the file (a recording cut short) is
 * taken as "up to the end". Several channels are mixed down to the first one only.
 */
export function decodeWav(file: Buffer): MonoPcm & { channels: number } {
  if (file.length < 12 || file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a RIFF/WAVE file');
  let offset = 12;
  let format: { channels: number; sampleRate: number; bits: number; tag: number } | undefined;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = { tag: file.readUInt16LE(body), channels: file.readUInt16LE(body + 2), sampleRate: file.readUInt32LE(body + 4), bits: file.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!format) throw new Error('a WAV data chunk before its fmt chunk');
      if (format.tag !== 1 || format.bits !== 16) throw new Error(`only 16-bit PCM WAV is read (format ${format.tag}, ${format.bits} bits)`);
      const end = Math.min(file.length, body + size);
      const frameBytes = 2 * format.channels;
      const frames = Math.floor((end - body) / frameBytes);
      const samples = new Int16Array(frames);
      for (let frame = 0; frame < frames; frame++) samples[frame] = file.readInt16LE(body + frame * frameBytes);
      return { sampleRate: format.sampleRate, channels: format.channels, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('a WAV file without a data chunk');
}

/** The canonical 16-bit PCM WAV header (the platform's one, shared with the demo's and the tests' WAVs). */
export { wavHeader } from '@avp/shared';

/**
 * One stereo WAV from two mono sides: left what the caller said, right what it heard. Both
 * start together; the shorter is padded with silence at the end. Sides of different rates are
 * refused (Asterisk records both snoops of a call at the call's rate).
 */
export function interleaveStereo(left: MonoPcm, right: MonoPcm): Buffer {
  if (left.sampleRate !== right.sampleRate) throw new Error(`the two sides have different sample rates (${left.sampleRate}, ${right.sampleRate})`);
  const frames = Math.max(left.samples.length, right.samples.length);
  const file = Buffer.alloc(wavHeaderBytes + frames * 4);
  wavHeader(left.sampleRate, 2, frames * 4).copy(file, 0);
  for (let frame = 0; frame < frames; frame++) {
    const at = wavHeaderBytes + frame * 4;
    file.writeInt16LE(left.samples[frame] ?? 0, at);
    file.writeInt16LE(right.samples[frame] ?? 0, at + 2);
  }
  return file;
}

/** Samples per second and length of a stereo file `interleaveStereo` wrote, from its header. */
export function stereoLayout(header: Buffer): { sampleRate: number; frames: number } {
  if (header.length < wavHeaderBytes || header.toString('ascii', 36, 40) !== 'data' || header.readUInt16LE(22) !== 2) throw new Error('not a stereo WAV of this service');
  return { sampleRate: header.readUInt32LE(24), frames: Math.floor(header.readUInt32LE(40) / 4) };
}

/** One channel (0 left, 1 right) of interleaved stereo 16-bit PCM, as little-endian mono PCM. */
export function channelOf(stereo: Buffer, channel: 0 | 1): Buffer {
  const frames = Math.floor(stereo.length / 4);
  const mono = Buffer.alloc(frames * 2);
  for (let frame = 0; frame < frames; frame++) mono.writeInt16LE(stereo.readInt16LE(frame * 4 + channel * 2), frame * 2);
  return mono;
}
