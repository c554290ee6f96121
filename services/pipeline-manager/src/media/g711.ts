import alawmulaw from 'alawmulaw';

/** Wire codecs the engine speaks with Asterisk. */
export type MediaCodecName = 'ulaw' | 'alaw' | 'slin16';

/** Facts about each wire codec. */
export const codecInfo: Record<MediaCodecName, { sampleRate: number; bytesPerFrame: number; rtpPayloadType: number }> = {
  ulaw: { sampleRate: 8000, bytesPerFrame: 160, rtpPayloadType: 0 },
  alaw: { sampleRate: 8000, bytesPerFrame: 160, rtpPayloadType: 8 },
  // Asterisk maps slin16 to dynamic payload type 118.
  slin16: { sampleRate: 16_000, bytesPerFrame: 640, rtpPayloadType: 118 },
};

/**
 * A G.711 codec backed by alawmulaw. The library's per-sample functions fill lookup tables
 * once, so encoding and decoding a frame is a table walk into caller-owned buffers
 * (no allocation per frame).
 */
export interface G711Codec {
  readonly name: 'ulaw' | 'alaw';
  /** Decodes `input.length` bytes into `output` (which must be at least as long). */
  decode(input: Uint8Array, output: Int16Array): void;
  /** Encodes `input.length` samples into `output`. */
  encode(input: Int16Array, output: Uint8Array): void;
}

function buildCodec(name: 'ulaw' | 'alaw'): G711Codec {
  const library = name === 'ulaw' ? alawmulaw.mulaw : alawmulaw.alaw;
  const decodeTable = new Int16Array(256);
  for (let code = 0; code < 256; code += 1) decodeTable[code] = library.decodeSample(code);
  const encodeTable = new Uint8Array(65_536);
  for (let sample = -32_768; sample < 32_768; sample += 1) encodeTable[sample & 0xffff] = library.encodeSample(sample);
  return {
    name,
    decode(input, output) {
      for (let index = 0; index < input.length; index += 1) output[index] = decodeTable[input[index] as number] as number;
    },
    encode(input, output) {
      for (let index = 0; index < input.length; index += 1) output[index] = encodeTable[(input[index] as number) & 0xffff] as number;
    },
  };
}

const codecs = new Map<'ulaw' | 'alaw', G711Codec>();

/** Returns the shared (stateless) codec for u-law or a-law. */
export function g711Codec(name: 'ulaw' | 'alaw'): G711Codec {
  let codec = codecs.get(name);
  if (!codec) {
    codec = buildCodec(name);
    codecs.set(name, codec);
  }
  return codec;
}
