import { performance } from 'node:perf_hooks';
import type { Logger } from '@avp/shared';
import WebSocket from 'ws';
import { completionText, dtmfEndText, mediaStartText, parseAsteriskCommand, statusText } from './asterisk-wire.ts';
import { PlayoutQueue } from './playout-queue.ts';
import { parseTwilioEngineMessage, TwilioEncoder, type TwilioStreamIdentity } from './twilio-wire.ts';

/** chan_websocket's queue levels, which the platform keeps towards an `asterisk`-format engine too. */
const xoffLevel = 900;
const xonLevel = 800;
/** Frames sent ahead at the start of a talkspurt, so a late timer never leaves the caller a gap. */
const leadFrames = 2;
/** Bytes waiting in the engine's socket past which the caller's audio is dropped (about 20 s of Twilio media, 8 s of slin16). */
const maxEngineBacklogBytes = 256 * 1024;
/** Caller audio waiting for the engine's next 20 ms slot; older frames are dropped past it. */
const maxInboundFrames = 3;

/** The two wire formats, and what the call's media leg carries for each (so audio passes unchanged). */
const wireFormats = {
  twilio: { legFormat: 'ulaw', frameBytes: 160, silenceByte: 0xff, maxFrames: 15_000 },
  asterisk: { legFormat: 'slin16', frameBytes: 640, silenceByte: 0x00, maxFrames: 1000 },
} as const;

export type WireFormat = keyof typeof wireFormats;

/** The leg format (Asterisk's `format` of the external media channel) a wire format needs. */
export function legFormatOf(format: WireFormat): 'ulaw' | 'slin16' {
  return wireFormats[format].legFormat;
}

/** Bytes and time of one stream, updated as it runs. */
export interface RelayCounters {
  bytesSent: number;
  bytesReceived: number;
}

export interface MediaRelayOptions {
  format: WireFormat;
  /** The call's media leg: Asterisk's media WebSocket, MEDIA_START already received. */
  leg: WebSocket;
  /** Messages the leg sent before the relay took it. */
  early: { data: Buffer; isBinary: boolean }[];
  /** The engine's socket, open. */
  engine: WebSocket;
  twilio: TwilioStreamIdentity;
  /** For `asterisk`: the MEDIA_START fields the engine sees. */
  asterisk: { connectionId: string; channel: string; channelId: string };
  counters: RelayCounters;
  /** The engine asked to hang the call up (`HANGUP`). */
  onHangupRequest: () => void;
  logger: Logger;
}

/**
 * Relays one call's audio between Asterisk's media WebSocket (u-law for `twilio`, slin16 for
 * `asterisk`: the leg carries the engine's own format, so audio is never transcoded) and an
 * engine's socket, on one 20 ms clock:
 *
 * - caller -> engine: one frame per tick (silence when the caller sends none), as Twilio and
 *   Asterisk send it;
 * - engine -> caller: queued (`PlayoutQueue`) and sent one frame per tick, two ahead at the start
 *   of a talkspurt; `clear` / `FLUSH_MEDIA` empty the queue and Asterisk's at once;
 * - marks: when the audio before a mark has been sent, a `MARK_MEDIA` goes to Asterisk, and the
 *   mark is echoed to the engine when Asterisk answers `MEDIA_MARK_PROCESSED` (it was played).
 *
 * `ended` resolves with the reason once either socket closes or `stop` is called.
 */
export class MediaRelay {
  readonly ended: Promise<string>;
  private resolveEnded!: (reason: string) => void;
  private readonly queue: PlayoutQueue;
  private readonly encoder: TwilioEncoder;
  private readonly inbound: Buffer[] = [];
  private inboundRemainder = Buffer.alloc(0);
  /** Marks sent to Asterisk (`MARK_MEDIA m<n>`) and the engine's name of each, in order. */
  private readonly legMarks = new Map<string, string>();
  private legMarkCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  private ticks = 0;
  private talking = false;
  private legBlocked = false;
  private paused = false;
  private xoffSent = false;
  private reportDrained = false;
  private finished = false;

  constructor(private readonly options: MediaRelayOptions) {
    const wire = wireFormats[options.format];
    this.queue = new PlayoutQueue(wire.frameBytes, wire.silenceByte, wire.maxFrames);
    this.encoder = new TwilioEncoder(options.twilio);
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Says hello to the engine (`connected` + `start`, or `MEDIA_START`) and starts relaying. */
  start(): void {
    const { leg, engine, format } = this.options;
    if (format === 'twilio') {
      engine.send(this.encoder.connected());
      engine.send(this.encoder.start());
    } else {
      engine.send(mediaStartText({ ...this.options.asterisk, format: 'slin16', optimalFrameSize: wireFormats.asterisk.frameBytes }));
    }
    for (const message of this.options.early) this.fromLeg(message.data, message.isBinary);
    leg.on('message', (data, isBinary) => this.fromLeg(toBuffer(data), isBinary));
    engine.on('message', (data, isBinary) => this.fromEngine(toBuffer(data), isBinary));
    leg.on('close', () => this.finish("the call's media ended"));
    engine.on('close', () => this.finish('the engine closed its socket'));
    leg.on('error', (error) => this.options.logger.debug({ err: error }, 'media leg socket error'));
    engine.on('error', (error) => this.options.logger.debug({ err: error }, 'engine socket error'));
    this.epoch = performance.now();
    this.schedule();
  }

  /** A DTMF digit the caller pressed. */
  dtmf(digit: string): void {
    if (this.finished) return;
    this.toEngine(this.options.format === 'twilio' ? this.encoder.dtmf(digit) : dtmfEndText(digit, this.options.asterisk.channelId));
  }

  /** Ends the stream: `stop` to a Twilio-format engine, then both sockets closed. */
  stop(reason: string): void {
    this.finish(reason);
  }

  private schedule(): void {
    if (this.finished) return;
    this.ticks += 1;
    const delay = Math.max(0, this.epoch + this.ticks * 20 - performance.now());
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, delay);
  }

  private tick(): void {
    this.sendToEngine();
    this.sendToCaller();
  }

  private sendToEngine(): void {
    // An engine that does not read: its audio is dropped rather than piled up in this process.
    if (this.options.engine.bufferedAmount > maxEngineBacklogBytes) return;
    const frame = this.inbound.shift() ?? Buffer.alloc(wireFormats[this.options.format].frameBytes, wireFormats[this.options.format].silenceByte);
    this.options.counters.bytesSent += frame.length;
    if (this.options.format === 'twilio') this.toEngine(this.encoder.media(frame, (this.ticks - 1) * 20));
    else this.toEngine(frame);
  }

  private sendToCaller(): void {
    if (this.legBlocked || this.paused) return;
    const budget = this.talking ? 1 : 1 + leadFrames;
    for (let sent = 0; sent < budget; sent += 1) {
      const taken = this.queue.take();
      for (const name of taken.marks) this.markToLeg(name);
      if (!taken.frame) {
        this.talking = false;
        break;
      }
      this.talking = true;
      this.toLeg(taken.frame);
    }
    if (this.xoffSent && this.queue.frames < xonLevel) {
      this.xoffSent = false;
      this.toEngine('MEDIA_XON');
    }
    if (this.reportDrained && this.queue.isEmpty) {
      this.reportDrained = false;
      this.toEngine('QUEUE_DRAINED');
    }
  }

  private markToLeg(name: string): void {
    this.legMarkCount += 1;
    const id = `m${this.legMarkCount}`;
    this.legMarks.set(id, name);
    this.toLeg(`MARK_MEDIA ${id}`);
  }

  private fromLeg(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const frameBytes = wireFormats[this.options.format].frameBytes;
      let bytes = this.inboundRemainder.length > 0 ? Buffer.concat([this.inboundRemainder, data]) : data;
      while (bytes.length >= frameBytes) {
        this.inbound.push(Buffer.from(bytes.subarray(0, frameBytes)));
        bytes = bytes.subarray(frameBytes);
      }
      this.inboundRemainder = Buffer.from(bytes);
      while (this.inbound.length > maxInboundFrames) this.inbound.shift();
      return;
    }
    const text = data.toString('utf8');
    const [event, argument] = splitEvent(text);
    switch (event) {
      case 'MEDIA_MARK_PROCESSED': {
        const name = argument === undefined ? undefined : this.legMarks.get(argument);
        if (argument === undefined || name === undefined) return;
        this.legMarks.delete(argument);
        this.echoMark(name);
        return;
      }
      case 'MEDIA_XOFF':
        this.legBlocked = true;
        return;
      case 'MEDIA_XON':
        this.legBlocked = false;
        return;
      default:
        // DTMF reaches the relay from the caller's channel (ARI), not from the leg.
        return;
    }
  }

  private fromEngine(data: Buffer, isBinary: boolean): void {
    if (this.options.format === 'twilio') {
      if (isBinary) {
        this.options.logger.debug('ignoring a binary frame from a twilio-format engine');
        return;
      }
      const message = parseTwilioEngineMessage(data.toString('utf8'), this.options.twilio.streamSid);
      switch (message.kind) {
        case 'media':
          this.audioFromEngine(message.payload);
          return;
        case 'mark':
          this.queue.pushMark(message.name);
          return;
        case 'clear': {
          // Twilio sends back every pending mark on clear: those Asterisk holds first, then the queued ones.
          const pending = [...this.legMarks.values(), ...this.queue.clear()];
          this.legMarks.clear();
          this.flushLeg();
          for (const name of pending) this.echoMark(name);
          return;
        }
        case 'invalid':
          this.options.logger.debug({ reason: message.reason }, 'ignoring an invalid message from a twilio-format engine');
          return;
      }
    }
    if (isBinary) {
      this.audioFromEngine(data);
      return;
    }
    this.asteriskCommand(data.toString('utf8'));
  }

  private asteriskCommand(text: string): void {
    const parsed = parseAsteriskCommand(text);
    switch (parsed.command) {
      case 'FLUSH_MEDIA':
        // As chan_websocket: queued audio and the marks among it are dropped unanswered.
        this.queue.clear();
        this.legMarks.clear();
        this.flushLeg();
        this.paused = false;
        return;
      case 'MARK_MEDIA':
        this.queue.pushMark(parsed.argument ?? '');
        return;
      case 'HANGUP':
        this.options.onHangupRequest();
        return;
      case 'STOP_MEDIA_BUFFERING':
        this.queue.padRemainder();
        this.toEngine(completionText('MEDIA_BUFFERING_COMPLETED', parsed.argument));
        return;
      case 'PAUSE_MEDIA':
        this.paused = true;
        return;
      case 'CONTINUE_MEDIA':
        this.paused = false;
        return;
      case 'GET_STATUS':
        this.toEngine(
          statusText({ channelId: this.options.asterisk.channelId, queueLength: this.queue.frames, xonLevel, xoffLevel, queueFull: this.xoffSent, bulkMedia: false, paused: this.paused }),
        );
        return;
      case 'REPORT_QUEUE_DRAINED':
        this.reportDrained = true;
        return;
      case 'ANSWER':
      case 'START_MEDIA_BUFFERING':
      case 'SET_MEDIA_DIRECTION':
        // The call is answered already; a remainder is never dropped here; both directions always flow.
        return;
      case 'invalid':
        this.options.logger.debug({ text: parsed.text.slice(0, 100) }, 'ignoring an unknown command from an asterisk-format engine');
        return;
    }
  }

  private audioFromEngine(payload: Buffer): void {
    this.options.counters.bytesReceived += payload.length;
    this.queue.pushAudio(payload);
    if (this.options.format === 'asterisk' && !this.xoffSent && this.queue.frames >= xoffLevel) {
      this.xoffSent = true;
      this.toEngine('MEDIA_XOFF');
    }
  }

  private echoMark(name: string): void {
    this.toEngine(this.options.format === 'twilio' ? this.encoder.mark(name) : completionText('MEDIA_MARK_PROCESSED', name === '' ? undefined : name));
  }

  private flushLeg(): void {
    this.talking = false;
    this.toLeg('FLUSH_MEDIA');
  }

  private toLeg(data: Buffer | string): void {
    if (this.options.leg.readyState === WebSocket.OPEN) this.options.leg.send(data);
  }

  private toEngine(data: Buffer | string): void {
    if (this.options.engine.readyState === WebSocket.OPEN) this.options.engine.send(data);
  }

  private finish(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    const { engine, leg, format } = this.options;
    if (format === 'twilio') this.toEngine(this.encoder.stop());
    if (engine.readyState === WebSocket.OPEN || engine.readyState === WebSocket.CONNECTING) engine.close(1000, 'stream ended');
    if (leg.readyState === WebSocket.OPEN || leg.readyState === WebSocket.CONNECTING) leg.close(1000);
    this.resolveEnded(reason);
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** `EVENT argument` (plain text) or `{"event": ..., "correlation_id": ...}` (JSON). */
function splitEvent(text: string): [string, string | undefined] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const json = JSON.parse(trimmed) as { event?: unknown; correlation_id?: unknown };
      return [typeof json.event === 'string' ? json.event : '', typeof json.correlation_id === 'string' && json.correlation_id !== '' ? json.correlation_id : undefined];
    } catch {
      return ['', undefined];
    }
  }
  const space = trimmed.indexOf(' ');
  return space < 0 ? [trimmed, undefined] : [trimmed.slice(0, space), trimmed.slice(space + 1).trim() || undefined];
}
