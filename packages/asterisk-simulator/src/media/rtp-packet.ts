/** One RTP packet (RFC 3550), without CSRCs or header extensions on the way out. */
export interface RtpPacket {
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}

export const RTP_HEADER_BYTES = 12;

export function buildRtpPacket(packet: RtpPacket): Buffer {
  const header = Buffer.alloc(RTP_HEADER_BYTES);
  header[0] = 0x80; // version 2, no padding, no extension, no CSRC
  header[1] = (packet.marker ? 0x80 : 0) | (packet.payloadType & 0x7f);
  header.writeUInt16BE(packet.sequenceNumber & 0xffff, 2);
  header.writeUInt32BE(packet.timestamp >>> 0, 4);
  header.writeUInt32BE(packet.ssrc >>> 0, 8);
  return Buffer.concat([header, packet.payload]);
}

/**
 * Parses an RTP packet, honouring CSRCs, a header extension and padding. Returns null for
 * anything that is not valid RTP version 2 (what Asterisk's RTP stack silently drops).
 */
export function parseRtpPacket(data: Buffer): RtpPacket | null {
  if (data.length < RTP_HEADER_BYTES) return null;
  const first = data[0] as number;
  if (first >> 6 !== 2) return null;
  const hasPadding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (hasExtension) {
    if (data.length < offset + 4) return null;
    offset += 4 + data.readUInt16BE(offset + 2) * 4;
  }
  let end = data.length;
  if (hasPadding) {
    const padding = data[data.length - 1] as number;
    if (padding === 0) return null;
    end -= padding;
  }
  if (end < offset) return null;
  const second = data[1] as number;
  return {
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: data.readUInt16BE(2),
    timestamp: data.readUInt32BE(4),
    ssrc: data.readUInt32BE(8),
    payload: data.subarray(offset, end),
  };
}
