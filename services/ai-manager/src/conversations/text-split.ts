/** Twilio's limit for one message body (it splits longer bodies into segments itself). */
export const maxSmsBodyLength = 1600;
/** LINE's limit for one text message, in UTF-16 code units. */
export const maxLineTextLength = 5000;
/** LINE's limit of messages in one reply or push request. */
export const maxLineMessagesPerRequest = 5;

/**
 * Splits text into pieces of at most `limit` UTF-16 code units, at the last line break or
 * space of each piece when there is one in its second half (so words stay whole), and never
 * inside a surrogate pair (an emoji is not cut in two).
 */
export function splitText(text: string, limit: number): string[] {
  if (limit < 2) throw new Error('limit must be at least 2');
  const pieces: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    let cut = limit;
    const window = rest.slice(0, limit);
    const breakAt = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    if (breakAt >= limit / 2) cut = breakAt + 1;
    else if (isHighSurrogate(rest.charCodeAt(cut - 1))) cut -= 1;
    pieces.push(rest.slice(0, cut));
    rest = rest.slice(cut);
  }
  if (rest.length > 0 || pieces.length === 0) pieces.push(rest);
  return pieces;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Groups items into batches of at most `size` (LINE: five messages per request). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let index = 0; index < items.length; index += size) result.push(items.slice(index, index + size));
  return result;
}
