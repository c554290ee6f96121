import WebSocket from 'ws';
import { FRAME_MS, type AudioFrame } from './audio-format.ts';
import { codecInfo, type MediaCodecName } from './g711.ts';
import { DEFAULT_FILL_SILENCE_AFTER_MS, InboundSilenceFiller } from './inbound-silence-filler.ts';
import { DEFAULT_SEGMENT_ID, type InboundAudioListener, type MediaTransport, type MediaTransportStats } from './media-transport.ts';
import { OutputQueue, type SegmentPlayout } from './output-queue.ts';
import { sharedPacingScheduler, systemClock, type MonotonicClock, type PacedTask, type PacingScheduler } from './pacing-scheduler.ts';
import { formatMediaCommand, parseMediaControlMessage, type MediaControlMessage } from './websocket-control.ts';
import { waitForMediaStart, type MediaStartInfo } from './websocket-media-start.ts';
import { createWireCodecPair, type WireCodecPair } from './wire-codec.ts';

/** Options for {@link connectWebSocketMedia}. */
export interface WebSocketMediaOptions {
  /** `ws://<asterisk>:8088/media/<MEDIA_WEBSOCKET_CONNECTION_ID>`. */
  url: string;
  /** How long to wait for `MEDIA_START` (default 5000 ms). */
  mediaStartTimeoutMs?: number;
  /**
   * How far ahead of the caller's ear to send (default 200 ms). Asterisk re-times what it
   * receives; keeping the lead short makes a barge-in flush cheap and the played estimate tight.
   */
  sendAheadMs?: number;
  maxQueuedMs?: number;
  resamplerQuality?: number;
  /** When no audio has arrived for this long, feed silence in real time (default 60 ms; 0 disables). */
  fillSilenceAfterMs?: number;
  headers?: Record<string, string>;
  scheduler?: PacingScheduler;
  clock?: MonotonicClock;
}

/** WebSocket-specific counters. */
export interface WebSocketTransportStats extends MediaTransportStats {
  messagesSent: number;
  xoffCount: number;
  /** True while Asterisk has asked us to stop sending. */
  paused: boolean;
  flushesSent: number;
  controlMessages: number;
  /** Inbound frames of silence inserted while Asterisk sent nothing. */
  silenceFilledFrames: number;
  marksSent: number;
  marksProcessed: number;
}

/**
 * Asterisk's WebSocket media channel (chan_websocket) as a client: `media` subprotocol, raw
 * binary audio both ways, text control messages. Output is sent ahead of real time by
 * `sendAheadMs` and Asterisk re-times it; `MEDIA_XOFF`/`MEDIA_XON` pause and resume sending;
 * `interrupt` sends `FLUSH_MEDIA`. Played time is tracked with a playout clock that runs at
 * real time while Asterisk has audio queued.
 */
export class WebSocketMediaTransport implements MediaTransport {
  readonly kind = 'websocket' as const;
  readonly codec: MediaCodecName;
  private readonly audioListeners = new Set<InboundAudioListener>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly controlListeners = new Set<(message: MediaControlMessage) => void>();
  private readonly markListeners = new Set<(segmentId: string) => void>();
  /** Segments whose MARK_MEDIA was sent. */
  private readonly marked = new Set<string>();
  private readonly queue: OutputQueue;
  private readonly clock: MonotonicClock;
  private readonly sendAheadMs: number;
  private readonly encodeBuffer: Uint8Array;
  /** Sent frames not yet played, oldest first: their segment ids and playout end times. */
  private readonly inFlightSegments: string[] = [];
  private readonly inFlightEnds: number[] = [];
  /** When Asterisk's playout of everything sent so far ends (monotonic ms). */
  private playoutEndMs = 0;
  private paused = false;
  private closed = false;
  private pacedTask: PacedTask | undefined;
  /** Messages held until the setup backlog has been replayed. */
  private backlog: Array<{ data: WebSocket.RawData; isBinary: boolean }> | undefined;
  private readonly counters = {
    framesReceived: 0,
    framesSent: 0,
    silenceFramesSent: 0,
    concealedFrames: 0,
    interruptions: 0,
    messagesSent: 0,
    xoffCount: 0,
    flushesSent: 0,
    controlMessages: 0,
    marksSent: 0,
    marksProcessed: 0,
    silenceFilledFrames: 0,
  };
  private readonly filler: InboundSilenceFiller;
  private readonly malformed: Record<string, number> = {};
  private readonly emitFrame = (frame: AudioFrame): void => {
    const mediaTimeMs = this.counters.framesReceived * FRAME_MS;
    this.counters.framesReceived += 1;
    for (const listener of this.audioListeners) listener(frame, mediaTimeMs);
  };

  private constructor(
    private readonly socket: WebSocket,
    readonly mediaStart: MediaStartInfo,
    private readonly wire: WireCodecPair,
    options: WebSocketMediaOptions,
    early: Array<{ data: WebSocket.RawData; isBinary: boolean }>,
  ) {
    this.codec = mediaStart.format;
    // Replay what arrived during setup once the caller of connect() has subscribed (its await
    // resumes first); anything arriving meanwhile queues behind it, so order is kept.
    this.backlog = early;
    setImmediate(() => {
      const backlog = this.backlog ?? [];
      this.backlog = undefined;
      for (const message of backlog) this.dispatch(message.data, message.isBinary);
    });
    this.queue = new OutputQueue(options.maxQueuedMs);
    this.clock = options.clock ?? systemClock;
    this.sendAheadMs = Math.max(FRAME_MS, options.sendAheadMs ?? 200);
    this.encodeBuffer = new Uint8Array(codecInfo[this.codec].bytesPerFrame);
    this.filler = new InboundSilenceFiller(options.fillSilenceAfterMs ?? DEFAULT_FILL_SILENCE_AFTER_MS);
    // MEDIA_START came: a caller silent from the start sends nothing, and time must still pass.
    this.filler.begin(this.clock.now());
    socket.on('message', (data, isBinary) => {
      if (this.backlog) this.backlog.push({ data, isBinary });
      else this.dispatch(data, isBinary);
    });
    socket.on('close', (code, reason) => this.finish(`closed ${code} ${reason.toString()}`.trim()));
    socket.on('error', () => this.countMalformed('socket-error'));
    this.pacedTask = (options.scheduler ?? sharedPacingScheduler()).add((tick) => this.pump(tick.latenessMs));
  }

  /** Connects, waits for `MEDIA_START`, and returns the running transport. */
  static async connect(options: WebSocketMediaOptions): Promise<WebSocketMediaTransport> {
    const socket = new WebSocket(options.url, ['media'], { headers: options.headers, perMessageDeflate: false });
    const timeoutMs = options.mediaStartTimeoutMs ?? 5000;
    // Audio may follow MEDIA_START before the codec is ready: hold it and replay it in order.
    const early: Array<{ data: WebSocket.RawData; isBinary: boolean }> = [];
    let started = false;
    const hold = (data: WebSocket.RawData, isBinary: boolean): void => {
      if (started) early.push({ data, isBinary });
    };
    socket.on('message', hold);
    try {
      const mediaStart = await waitForMediaStart(socket, timeoutMs, () => {
        started = true;
      });
      const wire = await createWireCodecPair(mediaStart.format, 'little', options.resamplerQuality);
      socket.off('message', hold);
      return new WebSocketMediaTransport(socket, mediaStart, wire, options, early);
    } catch (error) {
      socket.off('message', hold);
      socket.terminate();
      throw error;
    }
  }

  onAudio(listener: InboundAudioListener): () => void {
    this.audioListeners.add(listener);
    return () => this.audioListeners.delete(listener);
  }

  /** Subscribes to every control message (DTMF_END, STATUS, ...). */
  onControl(listener: (message: MediaControlMessage) => void): () => void {
    this.controlListeners.add(listener);
    return () => this.controlListeners.delete(listener);
  }

  send(frame: AudioFrame, segmentId: string = DEFAULT_SEGMENT_ID): boolean {
    if (this.closed) return false;
    const accepted = this.queue.enqueue(frame, segmentId);
    // Start a new utterance at once instead of waiting for the next tick.
    if (accepted) this.pump();
    return accepted;
  }

  endSegment(segmentId: string): void {
    // Ask before ending: ending a segment whose frames were all played forgets it.
    const unsent = this.queue.unsentFrames(segmentId);
    this.queue.endSegment(segmentId);
    if (unsent === 0) this.sendMark(segmentId);
  }

  /**
   * Subscribes to Asterisk's confirmation (`MEDIA_MARK_PROCESSED`) that the last frame of an ended
   * segment reached the front of its queue, i.e. the segment was heard to the end.
   */
  onSegmentConfirmed(listener: (segmentId: string) => void): () => void {
    this.markListeners.add(listener);
    return () => this.markListeners.delete(listener);
  }

  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void {
    return this.queue.onSegmentComplete(listener);
  }

  interrupt(): SegmentPlayout[] {
    this.counters.interruptions += 1;
    this.advancePlayout(this.clock.now());
    const inFlight = new Map<string, number>();
    for (const segmentId of this.inFlightSegments) inFlight.set(segmentId, (inFlight.get(segmentId) ?? 0) + 1);
    this.inFlightSegments.length = 0;
    this.inFlightEnds.length = 0;
    this.playoutEndMs = 0;
    this.marked.clear();
    // Always flush: the playout clock is an estimate and Asterisk may still hold audio it thinks played.
    this.sendCommand('FLUSH_MEDIA');
    this.counters.flushesSent += 1;
    // The flush empties Asterisk's queue, so a pending XOFF no longer applies.
    this.paused = false;
    return this.queue.interrupt(inFlight);
  }

  queuedMs(): number {
    return (this.queue.length + this.inFlightSegments.length) * FRAME_MS;
  }

  stats(): WebSocketTransportStats {
    return {
      ...this.counters,
      malformed: { ...this.malformed },
      outputOverflowFrames: this.queue.overflowFrames,
      queuedFrames: this.queue.length,
      paused: this.paused,
    };
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Sends a raw control command (e.g. `HANGUP`, `GET_STATUS`) in the channel's text format. */
  sendCommand(command: string, fields: Record<string, string> = {}): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(formatMediaCommand(command, this.mediaStart.json, fields));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const closedPromise = new Promise<void>((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) resolve();
      else this.socket.once('close', () => resolve());
    });
    this.socket.close(1000);
    const timer = setTimeout(() => this.socket.terminate(), 1000);
    await closedPromise;
    clearTimeout(timer);
    this.finish('closed');
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.pacedTask?.cancel();
    this.pacedTask = undefined;
    this.wire.destroy();
    for (const listener of this.closeListeners) listener(reason);
  }

  private dispatch(data: WebSocket.RawData, isBinary: boolean): void {
    try {
      this.handleMessage(data, isBinary);
    } catch {
      // Never let a bad message escape the socket handler.
      this.countMalformed('handler-error');
    }
  }

  private countMalformed(reason: string): void {
    this.malformed[reason] = (this.malformed[reason] ?? 0) + 1;
  }

  private handleMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (bytes.length === 0) {
        this.countMalformed('empty-frame');
        return;
      }
      this.filler.arrived(this.clock.now());
      this.wire.decoder.decode(bytes, this.emitFrame);
      return;
    }
    const message = parseMediaControlMessage(data.toString());
    if (!message) {
      this.countMalformed('unparsable-control');
      return;
    }
    this.counters.controlMessages += 1;
    if (message.event === 'MEDIA_XOFF') {
      this.paused = true;
      this.counters.xoffCount += 1;
    } else if (message.event === 'MEDIA_XON') {
      this.paused = false;
      this.pump();
    } else if (message.event === 'MEDIA_MARK_PROCESSED') {
      const segmentId = message.fields.correlation_id;
      if (typeof segmentId === 'string' && this.marked.delete(segmentId)) {
        this.counters.marksProcessed += 1;
        for (const listener of this.markListeners) listener(segmentId);
      }
    }
    for (const listener of this.controlListeners) listener(message);
  }

  /** Retires frames whose playout has ended. */
  private advancePlayout(now: number): void {
    while (this.inFlightEnds.length > 0 && (this.inFlightEnds[0] as number) <= now) {
      this.inFlightEnds.shift();
      this.queue.markPlayed(this.inFlightSegments.shift() as string);
    }
  }

  /** Sends queued frames until Asterisk holds `sendAheadMs` of audio (or it said XOFF). */
  private pump(latenessMs = 0): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.advancePlayout(now);
    const fillMs = this.filler.due(now, latenessMs);
    if (fillMs > 0) {
      this.counters.silenceFilledFrames += fillMs / FRAME_MS;
      this.wire.decoder.conceal(fillMs, this.emitFrame);
    }
    if (this.paused || this.socket.readyState !== WebSocket.OPEN) return;
    // Send while one more frame keeps the lead within sendAheadMs (1 ms of slack absorbs tick jitter).
    while (this.queue.length > 0 && Math.max(this.playoutEndMs, now) - now + FRAME_MS <= this.sendAheadMs + 1) {
      const next = this.queue.dequeue();
      if (!next) break;
      const length = this.wire.encoder.encode(next.frame, this.encodeBuffer);
      this.queue.recycle(next.frame);
      // ws copies the data into its own frame before returning, so the buffer can be reused.
      this.socket.send(this.encodeBuffer.subarray(0, length), { binary: true });
      this.counters.messagesSent += 1;
      this.counters.framesSent += 1;
      this.playoutEndMs = Math.max(this.playoutEndMs, now) + FRAME_MS;
      this.inFlightSegments.push(next.segmentId);
      this.inFlightEnds.push(this.playoutEndMs);
      this.markIfSent(next.segmentId);
    }
  }

  /** Sends MARK_MEDIA once an ended segment's last frame has gone to Asterisk. */
  private markIfSent(segmentId: string): void {
    if (this.queue.isFullySent(segmentId)) this.sendMark(segmentId);
  }

  private sendMark(segmentId: string): void {
    if (this.marked.has(segmentId)) return;
    this.marked.add(segmentId);
    this.counters.marksSent += 1;
    this.sendCommand('MARK_MEDIA', { correlation_id: segmentId });
  }
}

/** Connects to Asterisk's WebSocket media channel. */
export function connectWebSocketMedia(options: WebSocketMediaOptions): Promise<WebSocketMediaTransport> {
  return WebSocketMediaTransport.connect(options);
}
