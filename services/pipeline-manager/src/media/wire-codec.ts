import { FRAME_SAMPLES, NARROWBAND_FRAME_SAMPLES, type AudioFrame } from './audio-format.ts';
import { codecInfo, g711Codec, type MediaCodecName } from './g711.ts';
import { DEFAULT_RESAMPLER_QUALITY, SpeexResampler } from './speex-resampler.ts';

/** Byte order of linear PCM on the wire: RTP is big-endian, Asterisk's WebSocket and AudioSocket little-endian. */
export type PcmByteOrder = 'big' | 'little';

/** Receives internal frames. The frame is reused after the call returns: copy it to keep it. */
export type FrameSink = (frame: AudioFrame) => void;

/** Largest payload (bytes) decoded in one resampler pass; longer payloads are split. */
const CHUNK_BYTES = 1024;

/**
 * Wire payloads -> 20 ms frames at 16 kHz. Holds the upsampler state and a partial frame,
 * so payloads of any size (and concealed gaps) produce a continuous stream of frames.
 */
export class WireDecoder {
  private readonly narrowband = new Int16Array(CHUNK_BYTES);
  private readonly wideband = new Int16Array(CHUNK_BYTES * 2);
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private frameLength = 0;
  private carryByte = -1;

  constructor(
    readonly codec: MediaCodecName,
    private readonly byteOrder: PcmByteOrder,
    private readonly upsampler: SpeexResampler | undefined,
  ) {}

  /** Decodes one payload and emits every frame it completes. */
  decode(payload: Uint8Array, sink: FrameSink): void {
    if (this.codec === 'slin16') {
      this.decodeLinear(payload, sink);
      return;
    }
    const codec = g711Codec(this.codec);
    for (let offset = 0; offset < payload.length; offset += CHUNK_BYTES) {
      const chunk = payload.subarray(offset, Math.min(payload.length, offset + CHUNK_BYTES));
      const narrow = this.narrowband.subarray(0, chunk.length);
      codec.decode(chunk, narrow);
      this.pushNarrowband(narrow, sink);
    }
  }

  /** Inserts `ms` of silence (loss concealment), keeping the resampler's history continuous. */
  conceal(ms: number, sink: FrameSink): void {
    const wideband = this.codec === 'slin16';
    let remaining = Math.round(ms * (wideband ? 16 : 8));
    while (remaining > 0) {
      const take = Math.min(remaining, CHUNK_BYTES);
      if (wideband) this.pushWideband(this.wideband.fill(0, 0, take).subarray(0, take), sink);
      else this.pushNarrowband(this.narrowband.fill(0, 0, take).subarray(0, take), sink);
      remaining -= take;
    }
  }

  /** Samples at 16 kHz waiting for a full frame. */
  get pendingSamples(): number {
    return this.frameLength;
  }

  private pushNarrowband(samples: Int16Array, sink: FrameSink): void {
    const upsampler = this.upsampler as SpeexResampler;
    const written = upsampler.process(samples, this.wideband);
    this.pushWideband(this.wideband.subarray(0, written), sink);
  }

  private decodeLinear(payload: Uint8Array, sink: FrameSink): void {
    let offset = 0;
    const big = this.byteOrder === 'big';
    if (this.carryByte >= 0 && payload.length > 0) {
      const first = this.carryByte;
      const second = payload[0] as number;
      this.narrowband[0] = big ? (first << 8) | second : (second << 8) | first;
      this.carryByte = -1;
      this.pushWideband(this.narrowband.subarray(0, 1), sink);
      offset = 1;
    }
    const samples = this.wideband;
    while (payload.length - offset >= 2) {
      const count = Math.min(samples.length, (payload.length - offset) >> 1);
      for (let index = 0; index < count; index += 1) {
        const high = payload[offset + (big ? 0 : 1)] as number;
        const low = payload[offset + (big ? 1 : 0)] as number;
        samples[index] = (high << 8) | low;
        offset += 2;
      }
      this.pushWideband(samples.subarray(0, count), sink);
    }
    if (offset < payload.length) this.carryByte = payload[offset] as number;
  }

  private pushWideband(samples: Int16Array, sink: FrameSink): void {
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.frameLength, samples.length - offset);
      this.frame.set(samples.subarray(offset, offset + take), this.frameLength);
      this.frameLength += take;
      offset += take;
      if (this.frameLength === FRAME_SAMPLES) {
        this.frameLength = 0;
        sink(this.frame);
      }
    }
  }
}

/** 20 ms frames at 16 kHz -> one 20 ms wire payload, with a stateful downsampler for 8 kHz codecs. */
export class WireEncoder {
  private readonly narrowband = new Int16Array(NARROWBAND_FRAME_SAMPLES);
  /** Bytes one encoded frame takes on the wire. */
  readonly bytesPerFrame: number;

  constructor(
    readonly codec: MediaCodecName,
    private readonly byteOrder: PcmByteOrder,
    private readonly downsampler: SpeexResampler | undefined,
  ) {
    this.bytesPerFrame = codecInfo[codec].bytesPerFrame;
  }

  /** Encodes one internal frame into `output` (at least {@link bytesPerFrame} long); returns bytes written. */
  encode(frame: AudioFrame, output: Uint8Array): number {
    if (this.codec === 'slin16') {
      const big = this.byteOrder === 'big';
      for (let index = 0; index < FRAME_SAMPLES; index += 1) {
        const sample = (frame[index] as number) & 0xffff;
        output[index * 2 + (big ? 0 : 1)] = sample >> 8;
        output[index * 2 + (big ? 1 : 0)] = sample & 0xff;
      }
      return FRAME_SAMPLES * 2;
    }
    const downsampler = this.downsampler as SpeexResampler;
    const written = downsampler.process(frame, this.narrowband);
    g711Codec(this.codec).encode(this.narrowband.subarray(0, written), output);
    return written;
  }

  /** Encodes a silent frame without disturbing the downsampler (used while idle). */
  encodeSilence(output: Uint8Array): number {
    if (this.codec === 'slin16') {
      output.fill(0, 0, FRAME_SAMPLES * 2);
      return FRAME_SAMPLES * 2;
    }
    output.fill(this.codec === 'ulaw' ? 0xff : 0xd5, 0, NARROWBAND_FRAME_SAMPLES);
    return NARROWBAND_FRAME_SAMPLES;
  }
}

/** A decoder/encoder pair for one call. */
export interface WireCodecPair {
  decoder: WireDecoder;
  encoder: WireEncoder;
  /** Frees the resamplers' WASM memory. */
  destroy(): void;
}

/** Builds the per-call decoder and encoder (one resampler per direction for 8 kHz codecs). */
export async function createWireCodecPair(
  codec: MediaCodecName,
  byteOrder: PcmByteOrder,
  resamplerQuality = DEFAULT_RESAMPLER_QUALITY,
): Promise<WireCodecPair> {
  if (codec === 'slin16') {
    return { decoder: new WireDecoder(codec, byteOrder, undefined), encoder: new WireEncoder(codec, byteOrder, undefined), destroy: () => {} };
  }
  const upsampler = await SpeexResampler.create(8000, 16_000, resamplerQuality);
  const downsampler = await SpeexResampler.create(16_000, 8000, resamplerQuality);
  return {
    decoder: new WireDecoder(codec, byteOrder, upsampler),
    encoder: new WireEncoder(codec, byteOrder, downsampler),
    destroy: () => {
      upsampler.destroy();
      downsampler.destroy();
    },
  };
}
