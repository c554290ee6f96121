import type { RawData, WebSocket } from 'ws';
import type { FarEnd } from '../model/far-end.ts';
import { decodeBytes, encodeSamples, ENGINE_FRAME_SAMPLES, ENGINE_SAMPLE_RATE, FORMATS, RateConverter, type MediaFormat } from './codecs.ts';

/** chan_websocket's queue limits (channels/chan_websocket.c). */
export const QUEUE_LENGTH_MAX = 1000;
export const QUEUE_XOFF_LEVEL = 900;
export const QUEUE_XON_LEVEL = 800;
/** Longest binary message res_http_websocket accepts; longer ones close the socket. */
export const MAX_MEDIA_MESSAGE_BYTES = 65_500;
const MAX_TEXT_MESSAGE_LENGTH = 128;

type QueueItem = { kind: 'frame'; data: Buffer } | { kind: 'notice'; text: string };

export interface WebSocketMediaHooks {
  /** Channel id, name and variables for MEDIA_START. */
  describe(): { channelId: string; channelName: string; variables: Record<string, string> };
  /** The socket is up and MEDIA_START has been sent: the dial can complete. */
  connected(): void;
  /** The application sent ANSWER. */
  answer(): void;
  hangup(cause: number, techCause: number): void;
}

export interface WebSocketMediaOptions {
  connectionId: string;
  format: MediaFormat;
  /** Control messages as JSON (`f(json)`) instead of plain text. */
  json: boolean;
}

/**
 * The far end of a WebSocket media channel (Asterisk's chan_websocket): raw audio in BINARY
 * frames, control in TEXT frames. Audio from the application is cut into optimal-size frames
 * and queued; one frame leaves the queue per 20 ms tick, so audio sent faster than real time
 * is re-timed, and silence is played when the queue is empty.
 */
export class WebSocketMediaEndpoint implements FarEnd {
  private socket: WebSocket | undefined;
  private readonly queue: QueueItem[] = [];
  private frameCount = 0;
  private bulk = false;
  private leftover: Buffer = Buffer.alloc(0);
  private paused = false;
  private reportDrained = false;
  private queueFull = false;
  private closed = false;
  private readonly toLeg: RateConverter;
  private readonly fromLeg: RateConverter;
  readonly optimalFrameSize: number;
  /** Counters for tests and benchmarks. */
  readonly stats = { framesQueued: 0, framesPlayed: 0, framesFlushed: 0, framesDropped: 0, binarySent: 0 };

  constructor(
    readonly options: WebSocketMediaOptions,
    private readonly hooks: WebSocketMediaHooks,
  ) {
    const info = FORMATS[options.format];
    this.optimalFrameSize = info.frameBytes;
    this.toLeg = new RateConverter(ENGINE_SAMPLE_RATE, info.sampleRate);
    this.fromLeg = new RateConverter(info.sampleRate, ENGINE_SAMPLE_RATE);
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  get queueLength(): number {
    return this.frameCount;
  }

  /** Takes over a connected socket: sends MEDIA_START, then media and control flow. */
  attach(socket: WebSocket): void {
    if (this.closed) {
      socket.close(1000);
      return;
    }
    this.socket = socket;
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    // A message over the size limit makes the ws receiver fail with 1009 and close the socket;
    // the close event then carries 1006, so the reason is taken from the error.
    let tooLarge = false;
    socket.on('close', (code) => {
      if (this.socket === socket && !this.closed) this.hooks.hangup(16, tooLarge || code === 1009 ? 1009 : 1001);
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
    });
    const { channelId, channelName, variables } = this.hooks.describe();
    const info = FORMATS[this.options.format];
    this.sendText(
      this.options.json
        ? JSON.stringify({
            event: 'MEDIA_START',
            connection_id: this.options.connectionId,
            channel: channelName,
            channel_id: channelId,
            format: info.name,
            optimal_frame_size: this.optimalFrameSize,
            ptime: 20,
            channel_variables: variables,
          })
        : `MEDIA_START connection_id:${this.options.connectionId} channel:${channelName} channel_id:${channelId} format:${info.name} optimal_frame_size:${this.optimalFrameSize} ptime:20`,
    );
    this.hooks.connected();
  }

  produce(): Int16Array | null {
    if (!this.socket) return null;
    const frame = this.dequeue();
    if (!frame) return new Int16Array(ENGINE_FRAME_SAMPLES);
    this.stats.framesPlayed += 1;
    const padded = frame.length === this.optimalFrameSize ? frame : Buffer.concat([frame, this.silenceBytes(this.optimalFrameSize - frame.length)]);
    return this.fromLeg.convert(decodeBytes(this.options.format, padded, 'little'));
  }

  consume(frame: Int16Array | null): void {
    if (!frame || !this.socket || this.socket.readyState !== this.socket.OPEN) return;
    this.stats.binarySent += 1;
    this.socket.send(encodeSamples(this.options.format, this.toLeg.convert(frame), 'little'), { binary: true });
  }

  receiveDtmf(digit: string): void {
    const channelId = this.hooks.describe().channelId;
    this.sendText(this.options.json ? JSON.stringify({ event: 'DTMF_END', channel_id: channelId, digit }) : `DTMF_END digit:${digit} channel_id:${channelId}`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.close(1000);
  }

  private event(name: string, extra: Record<string, unknown> = {}): string {
    const channelId = this.hooks.describe().channelId;
    if (this.options.json) return JSON.stringify({ event: name, channel_id: channelId, ...extra });
    return name;
  }

  private sendText(text: string): void {
    if (this.socket && this.socket.readyState === this.socket.OPEN) this.socket.send(text);
  }

  private dequeue(): Buffer | null {
    if (this.paused) return null;
    if (this.queueFull && this.frameCount < QUEUE_XON_LEVEL) {
      this.queueFull = false;
      this.sendText(this.event('MEDIA_XON'));
    }
    for (;;) {
      const item = this.queue.shift();
      if (!item) {
        if (this.reportDrained) {
          this.reportDrained = false;
          this.sendText(this.event('QUEUE_DRAINED'));
        }
        return null;
      }
      if (item.kind === 'notice') {
        this.sendText(item.text);
        continue;
      }
      this.frameCount -= 1;
      return item.data;
    }
  }

  private queueFrame(data: Buffer): void {
    this.queue.push({ kind: 'frame', data: Buffer.from(data) });
    this.frameCount += 1;
    this.stats.framesQueued += 1;
    if (!this.queueFull && this.frameCount >= QUEUE_XOFF_LEVEL) {
      this.queueFull = true;
      this.sendText(this.event('MEDIA_XOFF'));
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) this.onBinary(buffer);
    else this.onText(buffer.toString('utf8'));
  }

  private onBinary(payload: Buffer): void {
    if (payload.length > MAX_MEDIA_MESSAGE_BYTES) {
      this.hooks.hangup(16, 1009);
      return;
    }
    if (this.frameCount >= QUEUE_LENGTH_MAX) {
      this.stats.framesDropped += Math.floor(payload.length / this.optimalFrameSize);
      return;
    }
    let rest = payload;
    if (this.bulk && this.leftover.length > 0) {
      const needed = this.optimalFrameSize - this.leftover.length;
      const take = Math.min(needed, rest.length);
      this.leftover = Buffer.concat([this.leftover, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      if (this.leftover.length < this.optimalFrameSize) return;
      this.queueFrame(this.leftover);
      this.leftover = Buffer.alloc(0);
    }
    if (!this.bulk) this.leftover = Buffer.alloc(0);
    while (rest.length >= this.optimalFrameSize) {
      this.queueFrame(rest.subarray(0, this.optimalFrameSize));
      rest = rest.subarray(this.optimalFrameSize);
    }
    // Outside START/STOP_MEDIA_BUFFERING a partial frame is dropped, as chan_websocket does.
    if (this.bulk && rest.length > 0) this.leftover = Buffer.from(rest);
  }

  private onText(raw: string): void {
    const text = raw.trim();
    if (text.length === 0 || text.length > MAX_TEXT_MESSAGE_LENGTH) return;
    let command: string;
    let argument: string | undefined;
    if (this.options.json) {
      try {
        const parsed = JSON.parse(text) as { command?: unknown; correlation_id?: unknown };
        command = typeof parsed.command === 'string' ? parsed.command : '';
        argument = typeof parsed.correlation_id === 'string' ? parsed.correlation_id : undefined;
      } catch {
        this.sendText(this.event('ERROR', { error_text: 'Unable to parse JSON command' }));
        return;
      }
    } else {
      const space = text.indexOf(' ');
      command = space < 0 ? text : text.slice(0, space);
      argument = space < 0 ? undefined : text.slice(space + 1);
    }
    this.runCommand(command, argument);
  }

  private runCommand(command: string, argument: string | undefined): void {
    switch (command) {
      case 'ANSWER':
        this.hooks.answer();
        return;
      case 'HANGUP':
        this.hooks.hangup(16, 1000);
        return;
      case 'START_MEDIA_BUFFERING':
        this.bulk = true;
        return;
      case 'STOP_MEDIA_BUFFERING':
        this.bulk = false;
        if (this.leftover.length > 0) this.queueFrame(this.leftover);
        this.leftover = Buffer.alloc(0);
        this.queue.push({ kind: 'notice', text: this.completion('MEDIA_BUFFERING_COMPLETED', argument) });
        return;
      case 'MARK_MEDIA':
        this.queue.push({ kind: 'notice', text: this.completion('MEDIA_MARK_PROCESSED', argument) });
        return;
      case 'FLUSH_MEDIA':
        this.stats.framesFlushed += this.frameCount;
        this.queue.length = 0;
        this.frameCount = 0;
        this.bulk = false;
        this.leftover = Buffer.alloc(0);
        this.paused = false;
        return;
      case 'REPORT_QUEUE_DRAINED':
        this.reportDrained = true;
        return;
      case 'GET_STATUS':
        this.sendText(this.status());
        return;
      case 'PAUSE_MEDIA':
        this.paused = true;
        return;
      case 'CONTINUE_MEDIA':
        this.paused = false;
        return;
      default:
        return;
    }
  }

  private completion(name: string, id: string | undefined): string {
    if (this.options.json) return this.event(name, { correlation_id: id ?? '' });
    return id ? `${name} ${id}` : name;
  }

  private status(): string {
    const channelId = this.hooks.describe().channelId;
    if (this.options.json) {
      return this.event('STATUS', {
        queue_length: this.frameCount,
        xon_level: QUEUE_XON_LEVEL,
        xoff_level: QUEUE_XOFF_LEVEL,
        queue_full: this.queueFull,
        bulk_media: this.bulk,
        media_paused: this.paused,
      });
    }
    return `STATUS channel_id:${channelId} queue_length:${this.frameCount} xon_level:${QUEUE_XON_LEVEL} xoff_level:${QUEUE_XOFF_LEVEL} queue_full:${this.queueFull} bulk_media:${this.bulk} media_paused:${this.paused}`;
  }

  private silenceBytes(length: number): Buffer {
    if (this.options.format === 'ulaw') return Buffer.alloc(length, 0xff);
    if (this.options.format === 'alaw') return Buffer.alloc(length, 0xd5);
    return Buffer.alloc(length);
  }
}
