/** Mono 16-bit PCM audio and its sample rate. */
export interface PcmAudio {
  sampleRate: number;
  samples: Int16Array;
}

/**
 * Reads a 16-bit PCM WAV (mono, or several channels averaged to mono). A data chunk whose
 * size field is wrong (streaming writers such as `espeak-ng --stdout` leave it at
 * 0xFFFFFFFF) is read to the end of the buffer.
 */
export function parseWav(data: Buffer): PcmAudio {
  if (data.length < 12 || data.toString('ascii', 0, 4) !== 'RIFF' || data.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file');
  }
  let offset = 12;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let format = 0;
  while (offset + 8 <= data.length) {
    const id = data.toString('ascii', offset, offset + 4);
    const size = data.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = data.readUInt16LE(body);
      channels = data.readUInt16LE(body + 2);
      sampleRate = data.readUInt32LE(body + 4);
      bits = data.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if ((format !== 1 && format !== 0xfffe) || bits !== 16 || channels < 1 || sampleRate < 1) {
        throw new Error(`unsupported WAV encoding (format ${format}, ${bits} bits, ${channels} channels): 16-bit PCM is needed`);
      }
      const end = Math.min(data.length, body + size);
      const frames = Math.floor((end - body) / (2 * channels));
      const samples = new Int16Array(frames);
      for (let frame = 0; frame < frames; frame++) {
        let sum = 0;
        for (let channel = 0; channel < channels; channel++) sum += data.readInt16LE(body + (frame * channels + channel) * 2);
        samples[frame] = Math.round(sum / channels);
      }
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('the WAV file has no data chunk');
}

/** The 44-byte header of a 16-bit PCM WAV with `channels` interleaved channels and `dataBytes` of samples. */
export function wavHeader(sampleRate: number, channels: number, dataBytes: number): Buffer {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(dataBytes, 40);
  return header;
}

/** Writes mono 16-bit PCM as a WAV file. */
export function buildWav(audio: PcmAudio): Buffer {
  const dataBytes = audio.samples.length * 2;
  const buffer = Buffer.alloc(44 + dataBytes);
  wavHeader(audio.sampleRate, 1, dataBytes).copy(buffer, 0);
  Buffer.from(audio.samples.buffer, audio.samples.byteOffset, dataBytes).copy(buffer, 44);
  return buffer;
}
