/**
 * The little audio handling providers need: bytes to 16-bit samples, WAV headers, and a
 * resampler seam. The pipeline injects its band-limited resampler (media/speex-resampler)
 * through `ResamplerFactory`; the linear one here is the dependency-free default.
 */

/** Stateful conversion of one stream at one rate to another; keep one per stream. */
export interface PcmResampler {
  process(pcm: Int16Array): Int16Array;
  /** Frees native or WASM memory (speex); called once the stream is done. */
  destroy?(): void;
}

/** Creates a resampler for one stream, e.g. a SpeexResampler adapter. */
export type ResamplerFactory = (fromRate: number, toRate: number) => PcmResampler | Promise<PcmResampler>;

/**
 * Linear interpolation, stateful across chunks. Adequate for speech going down to 16 kHz
 * from 22.05 or 24 kHz (some aliasing above 8 kHz); inject speex for better quality.
 */
export class LinearResampler implements PcmResampler {
  private readonly step: number;
  /** Position of the next output sample, relative to the first sample of the next input chunk. */
  private position = 0;
  private previous = 0;
  private started = false;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.step = fromRate / toRate;
  }

  process(pcm: Int16Array): Int16Array {
    if (this.fromRate === this.toRate) return pcm;
    if (pcm.length === 0) return pcm;
    if (!this.started) {
      this.started = true;
      this.previous = pcm[0] ?? 0;
    }
    const output: number[] = [];
    // Sample at index -1 is the last sample of the previous chunk.
    while (this.position < pcm.length - 1 + 1e-9) {
      const base = Math.floor(this.position);
      const fraction = this.position - base;
      const left = base < 0 ? this.previous : (pcm[base] ?? 0);
      const right = pcm[base + 1] ?? pcm[base] ?? 0;
      output.push(Math.round(left + (right - left) * fraction));
      this.position += this.step;
    }
    this.position -= pcm.length;
    this.previous = pcm[pcm.length - 1] ?? 0;
    return Int16Array.from(output);
  }
}

export const linearResamplerFactory: ResamplerFactory = (fromRate, toRate) => new LinearResampler(fromRate, toRate);

/**
 * Turns a byte stream of little-endian 16-bit PCM into sample arrays, carrying an odd
 * trailing byte over to the next chunk (vendors split audio anywhere).
 */
export class Pcm16Decoder {
  private carry: number | undefined;

  decode(bytes: Uint8Array): Int16Array {
    let data = bytes;
    if (this.carry !== undefined) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      data = joined;
      this.carry = undefined;
    }
    const evenLength = data.length - (data.length % 2);
    if (evenLength !== data.length) this.carry = data[data.length - 1];
    const samples = new Int16Array(evenLength / 2);
    const view = new DataView(data.buffer, data.byteOffset, evenLength);
    for (let index = 0; index < samples.length; index++) samples[index] = view.getInt16(index * 2, true);
    return samples;
  }
}

/** Format of a RIFF/WAVE header and where its sample data starts. */
export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  dataOffset: number;
}

/**
 * Parses a WAV header. espeak-ng writes 0xFFFFFFFF data sizes when streaming to stdout,
 * so the data chunk's size is not trusted: everything after its header is audio.
 * Returns undefined until enough bytes have arrived.
 */
export function parseWavHeader(bytes: Uint8Array): WavInfo | undefined {
  if (bytes.length < 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (text(0) !== 'RIFF' || text(8) !== 'WAVE') throw new Error('not a RIFF/WAVE stream');
  let offset = 12;
  let format: Omit<WavInfo, 'dataOffset'> | undefined;
  while (offset + 8 <= bytes.length) {
    const id = text(offset);
    const size = view.getUint32(offset + 4, true);
    if (id === 'fmt ') {
      if (offset + 8 + 16 > bytes.length) return undefined;
      const audioFormat = view.getUint16(offset + 8, true);
      if (audioFormat !== 1) throw new Error(`unsupported WAV format ${audioFormat} (need PCM)`);
      format = {
        channels: view.getUint16(offset + 10, true),
        sampleRate: view.getUint32(offset + 12, true),
        bitsPerSample: view.getUint16(offset + 22, true),
      };
    } else if (id === 'data') {
      if (!format) throw new Error('WAV data before fmt chunk');
      return { ...format, dataOffset: offset + 8 };
    }
    offset += 8 + size + (size % 2);
  }
  return undefined;
}

/** Decodes base64 (vendors send audio in JSON) to bytes. */
export function base64ToBytes(value: string): Uint8Array {
  const buffer = Buffer.from(value, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** The bytes of an Int16Array in little-endian order (this platform's order). */
export function pcmToBytes(pcm: Int16Array): Uint8Array {
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}
