import { z } from 'zod';

/** Who a Twilio-format stream says it is: the ids the engine sees in `start`. */
export interface TwilioStreamIdentity {
  streamSid: string;
  callSid: string;
  accountSid: string;
  customParameters: Record<string, string>;
}

/**
 * Writes the messages Twilio sends a Media Streams server, as JSON text frames: `connected`
 * (no sequence number), then `start`, `media`, `dtmf`, `mark`, `stop`, numbered from 1 across
 * all of them. `sequenceNumber`, `chunk` and `timestamp` are strings, as in Twilio's examples.
 */
export class TwilioEncoder {
  private sequence = 0;
  private chunk = 0;

  constructor(private readonly identity: TwilioStreamIdentity) {}

  connected(): string {
    return JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' });
  }

  start(): string {
    const { streamSid, callSid, accountSid, customParameters } = this.identity;
    return this.numbered({
      event: 'start',
      start: { streamSid, accountSid, callSid, tracks: ['inbound'], customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      streamSid,
    });
  }

  /** One frame of the caller's audio (u-law), `timestampMs` after the stream started. */
  media(payload: Uint8Array, timestampMs: number): string {
    this.chunk += 1;
    return this.numbered({
      event: 'media',
      streamSid: this.identity.streamSid,
      media: { track: 'inbound', chunk: String(this.chunk), timestamp: String(Math.round(timestampMs)), payload: Buffer.from(payload).toString('base64') },
    });
  }

  dtmf(digit: string): string {
    return this.numbered({ event: 'dtmf', streamSid: this.identity.streamSid, dtmf: { track: 'inbound_track', digit } });
  }

  /** Echoes a mark the engine sent, once the audio before it was played (or dropped by `clear`). */
  mark(name: string): string {
    return this.numbered({ event: 'mark', streamSid: this.identity.streamSid, mark: { name } });
  }

  stop(): string {
    const { streamSid, callSid, accountSid } = this.identity;
    return this.numbered({ event: 'stop', streamSid, stop: { accountSid, callSid } });
  }

  private numbered(message: Record<string, unknown> & { event: string }): string {
    this.sequence += 1;
    const { event, ...rest } = message;
    return JSON.stringify({ event, sequenceNumber: String(this.sequence), ...rest });
  }
}

const engineMessageSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('media'), streamSid: z.string(), media: z.object({ payload: z.string() }) }),
  z.object({ event: z.literal('mark'), streamSid: z.string(), mark: z.object({ name: z.string().max(1000) }) }),
  z.object({ event: z.literal('clear'), streamSid: z.string() }),
]);

/** What an engine sent on a Twilio-format stream. */
export type TwilioEngineMessage =
  | { kind: 'media'; payload: Buffer }
  | { kind: 'mark'; name: string }
  | { kind: 'clear' }
  /** Not JSON, an unknown event, a missing field or another stream's sid: Twilio refuses these (31951) and so does the platform. */
  | { kind: 'invalid'; reason: string };

/** Parses one text frame from the engine (`media`, `mark`, `clear`; the only three Twilio accepts). */
export function parseTwilioEngineMessage(text: string, streamSid: string): TwilioEngineMessage {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  const parsed = engineMessageSchema.safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: `not a media, mark or clear message: ${parsed.error.issues[0]?.message ?? ''}` };
  const message = parsed.data;
  if (message.streamSid !== streamSid) return { kind: 'invalid', reason: `wrong streamSid ${message.streamSid}` };
  switch (message.event) {
    case 'media':
      return { kind: 'media', payload: Buffer.from(message.media.payload, 'base64') };
    case 'mark':
      return { kind: 'mark', name: message.mark.name };
    case 'clear':
      return { kind: 'clear' };
  }
}
