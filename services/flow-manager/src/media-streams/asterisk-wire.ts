/**
 * The text side of Asterisk's chan_websocket media protocol as the platform speaks it to an
 * engine (the engine sees what it would see connected to Asterisk itself): plain-text events
 * `MEDIA_START`, `DTMF_END`, `MEDIA_MARK_PROCESSED`, `MEDIA_XOFF`/`MEDIA_XON`, `STATUS`,
 * `QUEUE_DRAINED`, `MEDIA_BUFFERING_COMPLETED`; audio is binary frames of slin16.
 */

/** The first message of a stream. */
export function mediaStartText(fields: { connectionId: string; channel: string; channelId: string; format: string; optimalFrameSize: number }): string {
  return `MEDIA_START connection_id:${fields.connectionId} channel:${fields.channel} channel_id:${fields.channelId} format:${fields.format} optimal_frame_size:${fields.optimalFrameSize} ptime:20`;
}

export function dtmfEndText(digit: string, channelId: string): string {
  return `DTMF_END digit:${digit} channel_id:${channelId}`;
}

/** An event that answers a command with an optional id (`MEDIA_MARK_PROCESSED m1`). */
export function completionText(event: 'MEDIA_MARK_PROCESSED' | 'MEDIA_BUFFERING_COMPLETED', id: string | undefined): string {
  return id ? `${event} ${id}` : event;
}

export function statusText(fields: { channelId: string; queueLength: number; xonLevel: number; xoffLevel: number; queueFull: boolean; bulkMedia: boolean; paused: boolean }): string {
  return `STATUS channel_id:${fields.channelId} queue_length:${fields.queueLength} xon_level:${fields.xonLevel} xoff_level:${fields.xoffLevel} queue_full:${fields.queueFull} bulk_media:${fields.bulkMedia} media_paused:${fields.paused}`;
}

/** The commands an engine may send (the ones chan_websocket knows). */
export const asteriskCommands = [
  'ANSWER',
  'HANGUP',
  'START_MEDIA_BUFFERING',
  'STOP_MEDIA_BUFFERING',
  'MARK_MEDIA',
  'FLUSH_MEDIA',
  'PAUSE_MEDIA',
  'CONTINUE_MEDIA',
  'GET_STATUS',
  'REPORT_QUEUE_DRAINED',
  'SET_MEDIA_DIRECTION',
] as const;
export type AsteriskCommandName = (typeof asteriskCommands)[number];

export type AsteriskCommand = { command: AsteriskCommandName; argument: string | undefined } | { command: 'invalid'; text: string };

/**
 * Parses a text frame from the engine: `COMMAND [argument]` in plain text, or the JSON form
 * `{"command": "MARK_MEDIA", "correlation_id": "m1"}`.
 */
export function parseAsteriskCommand(text: string): AsteriskCommand {
  const trimmed = text.trim();
  let command: string;
  let argument: string | undefined;
  if (trimmed.startsWith('{')) {
    try {
      const json = JSON.parse(trimmed) as { command?: unknown; correlation_id?: unknown; direction?: unknown };
      command = typeof json.command === 'string' ? json.command : '';
      const value = json.correlation_id ?? json.direction;
      argument = typeof value === 'string' && value !== '' ? value : undefined;
    } catch {
      return { command: 'invalid', text };
    }
  } else {
    const space = trimmed.indexOf(' ');
    command = space < 0 ? trimmed : trimmed.slice(0, space);
    const rest = space < 0 ? '' : trimmed.slice(space + 1).trim();
    argument = rest === '' ? undefined : rest;
  }
  return (asteriskCommands as readonly string[]).includes(command) ? { command: command as AsteriskCommandName, argument } : { command: 'invalid', text };
}
