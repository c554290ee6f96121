/** Fixed RTP header length without CSRCs or extensions (RFC 3550). */
export const RTP_HEADER_BYTES = 12;

/** A parsed RTP packet; `payload` is a view into the datagram (copy it to keep it). */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

/** Why a datagram was rejected. */
export type RtpParseError = 'too-short' | 'bad-version' | 'bad-padding' | 'bad-extension' | 'bad-csrc-count';

/**
 * Parses an RTP datagram, honouring CSRCs, header extensions and padding. Returns an error
 * code instead of throwing: the socket handler counts and drops malformed packets.
 */
export function parseRtpPacket(datagram: Uint8Array): RtpPacket | RtpParseError {
  if (datagram.length < RTP_HEADER_BYTES) return 'too-short';
  const first = datagram[0] as number;
  if (first >> 6 !== 2) return 'bad-version';
  const hasPadding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const second = datagram[1] as number;
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (offset > datagram.length) return 'bad-csrc-count';
  if (hasExtension) {
    if (offset + 4 > datagram.length) return 'bad-extension';
    offset += 4 + view.getUint16(offset + 2) * 4;
    if (offset > datagram.length) return 'bad-extension';
  }
  let end = datagram.length;
  if (hasPadding) {
    const padding = datagram[datagram.length - 1] as number;
    if (padding === 0 || end - padding < offset) return 'bad-padding';
    end -= padding;
  }
  return {
    payloadType: second & 0x7f,
    marker: (second & 0x80) !== 0,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payload: datagram.subarray(offset, end),
  };
}

/** Header fields for {@link writeRtpHeader}. */
export interface RtpHeaderFields {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

/** Writes a 12-byte RTP header (V=2, no padding/extension/CSRC) at the start of `target`. */
export function writeRtpHeader(target: Uint8Array, fields: RtpHeaderFields): void {
  target[0] = 0x80;
  target[1] = (fields.marker ? 0x80 : 0) | (fields.payloadType & 0x7f);
  target[2] = (fields.sequenceNumber >> 8) & 0xff;
  target[3] = fields.sequenceNumber & 0xff;
  const timestamp = fields.timestamp >>> 0;
  target[4] = timestamp >>> 24;
  target[5] = (timestamp >>> 16) & 0xff;
  target[6] = (timestamp >>> 8) & 0xff;
  target[7] = timestamp & 0xff;
  const ssrc = fields.ssrc >>> 0;
  target[8] = ssrc >>> 24;
  target[9] = (ssrc >>> 16) & 0xff;
  target[10] = (ssrc >>> 8) & 0xff;
  target[11] = ssrc & 0xff;
}

/** Builds a complete RTP packet (allocates; for tests and peers, not the hot path). */
export function buildRtpPacket(fields: RtpHeaderFields, payload: Uint8Array): Uint8Array {
  const packet = new Uint8Array(RTP_HEADER_BYTES + payload.length);
  writeRtpHeader(packet, fields);
  packet.set(payload, RTP_HEADER_BYTES);
  return packet;
}

/** Signed distance from sequence number `from` to `to`, modulo 2^16 (-32768 .. 32767). */
export function sequenceDistance(from: number, to: number): number {
  return ((((to - from) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}
