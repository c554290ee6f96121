import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { FRAME_MS, type AudioFrame } from './audio-format.ts';
import { codecInfo, type MediaCodecName } from './g711.ts';
import { DEFAULT_FILL_SILENCE_AFTER_MS, InboundSilenceFiller } from './inbound-silence-filler.ts';
import { JitterBuffer, type JitterBufferStats } from './jitter-buffer.ts';
import { DEFAULT_SEGMENT_ID, type InboundAudioListener, type MediaTransport, type MediaTransportStats } from './media-transport.ts';
import { OutputQueue, type SegmentPlayout } from './output-queue.ts';
import { sharedPacingScheduler, systemClock, type MonotonicClock, type PacedTask, type PacedTick, type PacingScheduler } from './pacing-scheduler.ts';
import { parseRtpPacket, RTP_HEADER_BYTES, writeRtpHeader } from './rtp-packet.ts';
import { RtpSourceLatch } from './rtp-source-latch.ts';
import { createWireCodecPair, type WireCodecPair } from './wire-codec.ts';

/** Where to send RTP: Asterisk's `UNICASTRTP_LOCAL_ADDRESS` / `UNICASTRTP_LOCAL_PORT`. */
export interface RtpEndpoint {
  address: string;
  port: number;
}

/** What to send in a 20 ms slot when no audio is queued. */
export type RtpIdleMode = 'silence' | 'nothing';

/** Options for {@link createRtpTransport}. */
export interface RtpTransportOptions {
  codec: MediaCodecName;
  /** Local address to bind (default 127.0.0.1; use 0.0.0.0 when Asterisk is on another host). */
  bindAddress?: string;
  /** Local port (default 0 = any free port). */
  bindPort?: number;
  /** Asterisk's RTP address; without one, replies go to the source of the first valid packet. */
  remote?: RtpEndpoint;
  /** Reordering depth in packets (default 3 = 60 ms). */
  jitterDepth?: number;
  /**
   * When no packet has arrived for this long, feed silence to the listeners in real time until
   * packets come back (default 60 ms; 0 disables). Audio that arrives late, after its time was
   * filled, is dropped (`lateAfterFillFrames`), so no time is counted twice.
   */
  fillSilenceAfterMs?: number;
  /** Default `silence`: a continuous 50 packets/s stream; `nothing` sends only queued audio. */
  idle?: RtpIdleMode;
  /**
   * Default true: the first frame of a talkspurt (audio after silence or nothing) is sent the
   * moment it is queued, and the frames after it every 20 ms from then on; false waits for
   * the next 20 ms slot of the call's fixed phase (up to 20 ms more on every bot turn).
   */
  sendTalkspurtStartAtOnce?: boolean;
  /** Bound of the output queue in ms (default 120 000). */
  maxQueuedMs?: number;
  /** Speex quality 0-10 for 8 kHz codecs (default 6). */
  resamplerQuality?: number;
  /** Outgoing SSRC (default random). */
  ssrc?: number;
  scheduler?: PacingScheduler;
  clock?: MonotonicClock;
  /** Observability hook called after each packet is handed to the socket. */
  onPacketSent?: (info: { sentAtMs: number; idealMs: number; silence: boolean }) => void;
}

/** RTP-specific counters on top of the common ones. */
export interface RtpTransportStats extends MediaTransportStats {
  packetsReceived: number;
  packetsSent: number;
  /** Inbound SSRC changes from the latched source (the jitter buffer restarts on each). */
  ssrcChanges: number;
  /** Packets from another address or port than the latched source, dropped (see `RtpSourceLatch`). */
  foreignSourcePackets: number;
  /** Times the latch moved from the first source to the endpoint Asterisk announced. */
  sourceRelatches: number;
  /** 20 ms output slots skipped because the process stalled (no catch-up burst). */
  skippedSlots: number;
  /** Packets of another payload type (comfort noise, DTMF events), ignored. */
  ignoredPayloadType: number;
  /** Inbound frames of silence inserted while Asterisk sent nothing (see `fillSilenceAfterMs`). */
  silenceFilledFrames: number;
  /** Inbound frames dropped because they arrived after silence had been filled in for them. */
  lateAfterFillFrames: number;
  jitterBuffer: JitterBufferStats;
}

/**
 * dgram reads the buffer after `send` returns (after its address lookup), so each packet gets
 * its own buffer from a small ring. One call sends one packet per tick and ticks are separate
 * macrotasks, so four is plenty.
 */
const SEND_BUFFERS = 4;

/**
 * ARI external media over RTP/UDP. Inbound packets go through a small reordering buffer, are
 * decoded and resampled to 16 kHz frames; outbound frames are paced one packet per 20 ms from
 * the monotonic clock and sent from the receiving socket (symmetric RTP).
 */
export class RtpTransport implements MediaTransport {
  readonly kind = 'rtp' as const;
  private readonly audioListeners = new Set<InboundAudioListener>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly queue: OutputQueue;
  private readonly jitterBuffer: JitterBuffer;
  private readonly sendBuffers: Uint8Array[];
  private sendBufferIndex = 0;
  private readonly payloadType: number;
  private readonly samplesPerFrame: number;
  private readonly counters = {
    framesReceived: 0,
    framesSent: 0,
    silenceFramesSent: 0,
    concealedFrames: 0,
    interruptions: 0,
    packetsReceived: 0,
    packetsSent: 0,
    ssrcChanges: 0,
    skippedSlots: 0,
    ignoredPayloadType: 0,
    silenceFilledFrames: 0,
    lateAfterFillFrames: 0,
  };
  /** Frames of arriving audio still to drop because filled silence stood in for them. */
  private framesToDrop = 0;
  private readonly dropFrame = (): void => {
    this.counters.lateAfterFillFrames += 1;
  };
  private readonly filler: InboundSilenceFiller;
  private readonly malformed: Record<string, number> = {};
  private readonly sourceLatch: RtpSourceLatch;
  private remote: RtpEndpoint | undefined;
  private remoteSsrc: number | undefined;
  private lastArrivalMs = 0;
  private lastPacketMs = FRAME_MS;
  private sequenceNumber: number;
  private readonly timestampBase: number;
  private readonly ssrc: number;
  private talking = false;
  /** True while a tick feeds inbound audio to the listeners (see `send`). */
  private ticking = false;
  private pacedTask: PacedTask | undefined;
  private closed = false;
  private readonly clock: MonotonicClock;
  private readonly idle: RtpIdleMode;
  private readonly emitFrame = (frame: AudioFrame): void => {
    const mediaTimeMs = this.counters.framesReceived * FRAME_MS;
    this.counters.framesReceived += 1;
    for (const listener of this.audioListeners) listener(frame, mediaTimeMs);
  };

  private constructor(
    readonly codec: MediaCodecName,
    private readonly socket: Socket,
    private readonly wire: WireCodecPair,
    private readonly options: RtpTransportOptions,
  ) {
    this.queue = new OutputQueue(options.maxQueuedMs);
    this.remote = options.remote;
    this.sourceLatch = new RtpSourceLatch(options.remote);
    this.clock = options.clock ?? systemClock;
    this.idle = options.idle ?? 'silence';
    this.filler = new InboundSilenceFiller(options.fillSilenceAfterMs ?? DEFAULT_FILL_SILENCE_AFTER_MS);
    const info = codecInfo[codec];
    this.payloadType = info.rtpPayloadType;
    this.samplesPerFrame = (info.sampleRate * FRAME_MS) / 1000;
    this.sendBuffers = Array.from({ length: SEND_BUFFERS }, () => new Uint8Array(RTP_HEADER_BYTES + info.bytesPerFrame));
    this.ssrc = options.ssrc ?? Math.floor(Math.random() * 0x1_0000_0000);
    this.sequenceNumber = Math.floor(Math.random() * 0x1_0000);
    this.timestampBase = Math.floor(Math.random() * 0x1_0000_0000);
    this.jitterBuffer = new JitterBuffer((payload) => this.deliver(payload), { depth: options.jitterDepth ?? 3 });
    socket.on('message', (message, remoteInfo) => {
      try {
        this.handleDatagram(message, remoteInfo);
      } catch {
        // Never let a bad packet escape the socket handler.
        this.countMalformed('handler-error');
      }
    });
    socket.on('error', () => this.countMalformed('socket-error'));
    this.pacedTask = (options.scheduler ?? sharedPacingScheduler()).add((tick) => this.onTick(tick));
  }

  /** Binds a UDP socket and starts the 20 ms output clock. */
  static async create(options: RtpTransportOptions): Promise<RtpTransport> {
    const wire = await createWireCodecPair(options.codec, 'big', options.resamplerQuality);
    const socket = createSocket({ type: options.bindAddress?.includes(':') ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(options.bindPort ?? 0, options.bindAddress ?? '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new RtpTransport(options.codec, socket, wire, options);
  }

  /** The bound local address: give it to Asterisk as `external_host`. */
  localAddress(): RtpEndpoint {
    const address = this.socket.address();
    return { address: address.address, port: address.port };
  }

  /** Sets where to send (from the externalMedia channel's `UNICASTRTP_LOCAL_*` variables). */
  setRemote(remote: RtpEndpoint): void {
    this.remote = remote;
    this.sourceLatch.announce(remote);
    // The leg is up: a caller silent from the start sends nothing, and time must still pass.
    this.filler.begin(this.clock.now());
  }

  onAudio(listener: InboundAudioListener): () => void {
    this.audioListeners.add(listener);
    return () => this.audioListeners.delete(listener);
  }

  send(frame: AudioFrame, segmentId: string = DEFAULT_SEGMENT_ID): boolean {
    if (this.closed) return false;
    const accepted = this.queue.enqueue(frame, segmentId);
    // A new talkspurt goes out now rather than at the call's next slot; the slots after it
    // move with it, so its frames stay 20 ms apart (see PacedTask.takeNextSlotNow).
    if (accepted && !this.talking && !this.ticking && this.queue.length === 1 && this.remote && this.options.sendTalkspurtStartAtOnce !== false) {
      const tick = this.pacedTask?.takeNextSlotNow();
      if (tick) this.sendSlot(tick);
    }
    return accepted;
  }

  endSegment(segmentId: string): void {
    this.queue.endSegment(segmentId);
  }

  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void {
    return this.queue.onSegmentComplete(listener);
  }

  interrupt(): SegmentPlayout[] {
    this.counters.interruptions += 1;
    // Frames leave the queue only at their send slot, so what was sent is exactly what played.
    return this.queue.interrupt();
  }

  queuedMs(): number {
    return this.queue.length * FRAME_MS;
  }

  stats(): RtpTransportStats {
    return {
      ...this.counters,
      foreignSourcePackets: this.sourceLatch.foreignPackets,
      sourceRelatches: this.sourceLatch.relatches,
      malformed: { ...this.malformed },
      outputOverflowFrames: this.queue.overflowFrames,
      queuedFrames: this.queue.length,
      jitterBuffer: { ...this.jitterBuffer.stats },
    };
  }

  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacedTask?.cancel();
    this.pacedTask = undefined;
    this.jitterBuffer.flush();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
    this.wire.destroy();
    for (const listener of this.closeListeners) listener('closed');
  }

  private countMalformed(reason: string): void {
    this.malformed[reason] = (this.malformed[reason] ?? 0) + 1;
  }

  private handleDatagram(message: Uint8Array, remoteInfo: RemoteInfo): void {
    if (this.closed) return;
    // Only the latched source is the caller's audio: anything else is dropped unparsed.
    if (this.sourceLatch.dropsForeign(remoteInfo.address, remoteInfo.port)) return;
    const packet = parseRtpPacket(message);
    if (typeof packet === 'string') {
      this.countMalformed(packet);
      return;
    }
    if (packet.payloadType !== this.payloadType) {
      this.counters.ignoredPayloadType += 1;
      return;
    }
    if (packet.payload.length === 0) {
      this.countMalformed('empty-payload');
      return;
    }
    if (this.codec === 'slin16' && packet.payload.length % 2 !== 0) {
      this.countMalformed('odd-length');
      return;
    }
    if (packet.payload.length > 1500) {
      this.countMalformed('too-long');
      return;
    }
    this.counters.packetsReceived += 1;
    if (this.sourceLatch.accept(remoteInfo.address, remoteInfo.port) === 'latched' && this.remoteSsrc !== undefined) {
      // The announced endpoint took over from a first source: a new stream, not an SSRC change.
      this.jitterBuffer.reset();
      this.remoteSsrc = undefined;
    }
    if (this.remoteSsrc !== packet.ssrc) {
      if (this.remoteSsrc !== undefined) {
        this.counters.ssrcChanges += 1;
        this.jitterBuffer.reset();
      }
      this.remoteSsrc = packet.ssrc;
      this.filler.newStream();
    }
    this.remote ??= { address: remoteInfo.address, port: remoteInfo.port };
    this.lastArrivalMs = this.clock.now();
    const packetFrames = Math.max(1, Math.round(packet.payload.length / codecInfo[this.codec].bytesPerFrame));
    // Late audio whose time was filled is still decoded (the resampler's state stays continuous), but not heard twice.
    if (this.filler.packetArrived(this.lastArrivalMs, packet, packetFrames, this.samplesPerFrame) === 'late') this.framesToDrop += packetFrames;
    this.jitterBuffer.push(packet.sequenceNumber, packet.payload);
  }

  private deliver(payload: Uint8Array | undefined): void {
    if (payload) {
      this.lastPacketMs = (payload.length / codecInfo[this.codec].bytesPerFrame) * FRAME_MS;
      if (this.framesToDrop > 0) {
        this.framesToDrop = Math.max(0, this.framesToDrop - this.lastPacketMs / FRAME_MS);
        this.wire.decoder.decode(payload, this.dropFrame);
        return;
      }
      this.wire.decoder.decode(payload, this.emitFrame);
      return;
    }
    this.counters.concealedFrames += this.lastPacketMs / FRAME_MS;
    this.wire.decoder.conceal(this.lastPacketMs, this.emitFrame);
  }

  private onTick(tick: PacedTick): void {
    if (this.closed) return;
    const now = this.clock.now();
    // Listeners fed here could queue audio synchronously: that waits for this very slot.
    this.ticking = true;
    try {
      // The tail of a talkspurt must not wait for packets that will never come.
      if (this.jitterBuffer.heldPackets > 0 && now - this.lastArrivalMs > FRAME_MS * 2) this.jitterBuffer.flush();
      const fillMs = this.filler.due(now, tick.latenessMs);
      if (fillMs > 0) {
        this.counters.silenceFilledFrames += fillMs / FRAME_MS;
        this.wire.decoder.conceal(fillMs, this.emitFrame);
      }
    } finally {
      this.ticking = false;
    }
    this.sendSlot(tick);
  }

  /** Sends the slot's packet: the next queued frame, else silence (or nothing, per `idle`). */
  private sendSlot(tick: PacedTick): void {
    this.counters.skippedSlots += tick.skippedSlots;
    const remote = this.remote;
    if (!remote) return;
    const next = this.queue.dequeue();
    // Between talkspurts the call's slots go back to their own phase (spread over the period).
    if (!next) this.pacedTask?.realign();
    if (!next && this.idle === 'nothing') {
      this.talking = false;
      return;
    }
    const buffer = this.sendBuffers[this.sendBufferIndex] as Uint8Array;
    this.sendBufferIndex = (this.sendBufferIndex + 1) % SEND_BUFFERS;
    const payload = buffer.subarray(RTP_HEADER_BYTES);
    let length: number;
    if (next) {
      length = this.wire.encoder.encode(next.frame, payload);
      this.queue.recycle(next.frame);
      this.queue.markPlayed(next.segmentId);
      this.counters.framesSent += 1;
    } else {
      length = this.wire.encoder.encodeSilence(payload);
      this.counters.silenceFramesSent += 1;
    }
    // The marker bit opens a talkspurt: the first audio packet after idle.
    const marker = next !== undefined && !this.talking;
    this.talking = next !== undefined;
    writeRtpHeader(buffer, {
      payloadType: this.payloadType,
      marker,
      sequenceNumber: this.sequenceNumber,
      // The timestamp follows the slot (skipped slots included), so it never drifts from the clock.
      timestamp: (this.timestampBase + tick.slot * this.samplesPerFrame) >>> 0,
      ssrc: this.ssrc,
    });
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.socket.send(buffer, 0, RTP_HEADER_BYTES + length, remote.port, remote.address);
    this.counters.packetsSent += 1;
    this.options.onPacketSent?.({ sentAtMs: this.clock.now(), idealMs: tick.idealMs, silence: next === undefined });
  }
}

/** Binds an RTP transport for one call. */
export function createRtpTransport(options: RtpTransportOptions): Promise<RtpTransport> {
  return RtpTransport.create(options);
}
