/** A control message from Asterisk's WebSocket media channel, in either of its text formats. */
export interface MediaControlMessage {
  /** Event name, e.g. `MEDIA_START`, `MEDIA_XOFF`, `MEDIA_XON`, `DTMF_END`. */
  event: string;
  /** The message's fields (values as Asterisk sent them; plain-text values are strings). */
  fields: Record<string, unknown>;
  /** True when the message was JSON (then commands should be sent as JSON too). */
  json: boolean;
}

/**
 * Parses a TEXT frame. Plain text is `EVENT key:value key:value ...`; JSON (Asterisk 20.18 /
 * 22.8 / 23.2+ with `f(json)`) is an object with an `event` member. Returns undefined for
 * anything else.
 */
export function parseMediaControlMessage(text: string): MediaControlMessage | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      const fields = value as Record<string, unknown>;
      const event = fields.event ?? fields.command;
      return typeof event === 'string' && event.length > 0 ? { event: event.toUpperCase(), fields, json: true } : undefined;
    } catch {
      return undefined;
    }
  }
  const tokens = trimmed.split(/\s+/);
  const event = tokens[0];
  if (!event || !/^[A-Za-z][A-Za-z0-9_]*$/.test(event)) return undefined;
  const fields: Record<string, unknown> = {};
  for (const token of tokens.slice(1)) {
    const colon = token.indexOf(':');
    if (colon > 0) fields[token.slice(0, colon)] = token.slice(colon + 1);
  }
  return { event: event.toUpperCase(), fields, json: false };
}

/** Formats a command in the format the channel speaks. */
export function formatMediaCommand(command: string, json: boolean, fields: Record<string, string> = {}): string {
  if (json) return JSON.stringify({ command, ...fields });
  const parts = [command, ...Object.entries(fields).map(([key, value]) => `${key}:${value}`)];
  return parts.join(' ');
}
