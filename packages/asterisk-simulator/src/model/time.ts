/** Asterisk's ARI timestamp format: `2026-11-24T01:00:29.903+0000`. */
export function asteriskTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

let counter = 0;
const started = Math.floor(Date.now() / 1000);

/** A unique id in Asterisk's `<epoch seconds>.<counter>` style. */
export function nextUniqueId(): string {
  const id = `${started}.${counter}`;
  counter += 1;
  return id;
}

let channelSequence = 0;
/** Eight hex digits, as in `PJSIP/alice-00000001`. */
export function nextChannelSuffix(): string {
  channelSequence += 1;
  return channelSequence.toString(16).padStart(8, '0');
}

/** A pointer-looking suffix, as in `UnicastRTP/127.0.0.1:40000-0x7fedf80026a0`. */
export function nextPointerSuffix(): string {
  channelSequence += 1;
  return `0x7f${(0xedf8000000 + channelSequence * 0x10).toString(16)}`;
}
