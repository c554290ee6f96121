import alawmulaw from 'alawmulaw';

/** Audio formats the simulator can put on an external media leg (Asterisk format names). */
export type MediaFormat = 'ulaw' | 'alaw' | 'slin' | 'slin16';

/** Internal mixing rate: every channel and bridge works on 20 ms frames of 16 kHz PCM16. */
export const ENGINE_SAMPLE_RATE = 16_000;
/** Samples in one 20 ms engine frame. */
export const ENGINE_FRAME_SAMPLES = 320;
/** Length of one media tick. */
export const FRAME_MS = 20;

export interface FormatInfo {
  name: MediaFormat;
  sampleRate: number;
  /** RTP payload type Asterisk uses (static for G.711, Asterisk's dynamic 118 for slin16). */
  payloadType: number;
  /** Bytes in one 20 ms frame (Asterisk's optimal_frame_size). */
  frameBytes: number;
  /** Samples in one 20 ms frame (RTP timestamp step). */
  frameSamples: number;
}

export const FORMATS: Record<MediaFormat, FormatInfo> = {
  ulaw: { name: 'ulaw', sampleRate: 8000, payloadType: 0, frameBytes: 160, frameSamples: 160 },
  alaw: { name: 'alaw', sampleRate: 8000, payloadType: 8, frameBytes: 160, frameSamples: 160 },
  // Asterisk maps slin (8 kHz) to payload type 11 in rtp_engine.c's static table.
  slin: { name: 'slin', sampleRate: 8000, payloadType: 11, frameBytes: 320, frameSamples: 160 },
  slin16: { name: 'slin16', sampleRate: 16_000, payloadType: 118, frameBytes: 640, frameSamples: 320 },
};

export function isMediaFormat(value: string): value is MediaFormat {
  return Object.hasOwn(FORMATS, value);
}

/** Byte order of linear PCM on a transport: RTP carries it big-endian, WebSocket/AudioSocket little-endian. */
export type Endianness = 'big' | 'little';

/** Encodes samples at the format's own rate into wire bytes. */
export function encodeSamples(format: MediaFormat, samples: Int16Array, endianness: Endianness): Buffer {
  switch (format) {
    case 'ulaw':
      return Buffer.from(alawmulaw.mulaw.encode(samples));
    case 'alaw':
      return Buffer.from(alawmulaw.alaw.encode(samples));
    case 'slin':
    case 'slin16':
      return pcmToBytes(samples, endianness);
  }
}

/** Decodes wire bytes into samples at the format's own rate. */
export function decodeBytes(format: MediaFormat, bytes: Uint8Array, endianness: Endianness): Int16Array {
  switch (format) {
    case 'ulaw':
      return alawmulaw.mulaw.decode(bytes);
    case 'alaw':
      return alawmulaw.alaw.decode(bytes);
    case 'slin':
    case 'slin16':
      return bytesToPcm(bytes, endianness);
  }
}

export function pcmToBytes(samples: Int16Array, endianness: Endianness): Buffer {
  const out = Buffer.alloc(samples.length * 2);
  for (let index = 0; index < samples.length; index += 1) {
    const sample = samples[index] ?? 0;
    if (endianness === 'big') out.writeInt16BE(sample, index * 2);
    else out.writeInt16LE(sample, index * 2);
  }
  return out;
}

export function bytesToPcm(bytes: Uint8Array, endianness: Endianness): Int16Array {
  const count = Math.floor(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
  const out = new Int16Array(count);
  for (let index = 0; index < count; index += 1) out[index] = view.getInt16(index * 2, endianness === 'little');
  return out;
}

/**
 * Converts between the engine's 16 kHz and a leg's 8 kHz. Stateful per direction so that
 * 20 ms frames join without clicks: upsampling interpolates across the frame boundary,
 * downsampling low-passes with a short filter that remembers the previous frame's tail.
 */
export class RateConverter {
  private previous = 0;
  private history: [number, number] = [0, 0];

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    if (fromRate !== toRate && !(fromRate === 8000 && toRate === 16_000) && !(fromRate === 16_000 && toRate === 8000)) {
      throw new Error(`unsupported rate conversion ${fromRate} -> ${toRate}`);
    }
  }

  convert(input: Int16Array): Int16Array {
    if (this.fromRate === this.toRate) return input;
    return this.fromRate < this.toRate ? this.upsample(input) : this.downsample(input);
  }

  private upsample(input: Int16Array): Int16Array {
    const out = new Int16Array(input.length * 2);
    for (let index = 0; index < input.length; index += 1) {
      const current = input[index] ?? 0;
      out[index * 2] = Math.round((this.previous + current) / 2);
      out[index * 2 + 1] = current;
      this.previous = current;
    }
    return out;
  }

  private downsample(input: Int16Array): Int16Array {
    const out = new Int16Array(Math.floor(input.length / 2));
    for (let index = 0; index < out.length; index += 1) {
      const a = input[index * 2] ?? 0;
      const b = input[index * 2 + 1] ?? 0;
      // [1 2 2 2 1]/8 over the previous two and current two samples: a cheap anti-alias filter.
      const value = (this.history[0] + 2 * this.history[1] + 2 * a + 2 * b) / 7;
      out[index] = clip(Math.round(value));
      this.history = [a, b];
    }
    return out;
  }
}

export function clip(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

/**
 * Sums frames sample by sample and clips to int16 (what a mixing bridge does). Frames start
 * together at the tick; the mix is as long as the longest one, so it is short only when every
 * part is the short last frame of a burst (and then carries just those samples on).
 */
export function mixFrames(frames: readonly Int16Array[], length = Math.max(0, ...frames.map((frame) => frame.length))): Int16Array {
  const out = new Int16Array(length);
  if (frames.length === 1) {
    out.set((frames[0] as Int16Array).subarray(0, length));
    return out;
  }
  for (let index = 0; index < length; index += 1) {
    let sum = 0;
    for (const frame of frames) sum += frame[index] ?? 0;
    out[index] = clip(sum);
  }
  return out;
}

/** Root mean square of a frame, in sample units (0..32768). */
export function rms(frame: Int16Array): number {
  if (frame.length === 0) return 0;
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  return Math.sqrt(sum / frame.length);
}
