import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { FarEnd } from '../model/far-end.ts';
import { decodeBytes, encodeSamples, ENGINE_FRAME_SAMPLES, ENGINE_SAMPLE_RATE, FORMATS, RateConverter, type MediaFormat } from './codecs.ts';
import { FaultInjector, malformedPackets, seededRandom, type FaultPlan } from './faults.ts';
import { buildRtpPacket, parseRtpPacket } from './rtp-packet.ts';
import { SampleFifo } from './sample-fifo.ts';

export interface RtpEndpointOptions {
  /** Address to bind and to report in UNICASTRTP_LOCAL_ADDRESS. */
  bindAddress: string;
  remoteHost: string;
  remotePort: number;
  format: MediaFormat;
}

/** Counters for one RTP leg. */
export interface RtpStats {
  packetsSent: number;
  packetsReceived: number;
  /** Received datagrams that were not valid RTP (ignored, as Asterisk does). */
  malformedReceived: number;
  /** Received packets with a payload type the channel does not know (dropped, slin16's 118 included). */
  wrongPayloadType: number;
  /** Samples dropped because the application sent faster than real time. */
  overflowSamples: number;
}

/**
 * Payload types a UnicastRTP channel decodes. It has no SDP, so it knows only the static
 * payload types: G.711 arrives whatever the leg's format (Asterisk transcodes), while slin16's
 * dynamic 118, which Asterisk itself sends on a slin16 leg, is silently dropped on receipt.
 */
const RECEIVED_FORMATS: Record<number, MediaFormat> = { 0: 'ulaw', 8: 'alaw' };

/**
 * Asterisk's MAX_TIMESTAMP_SKEW (res_rtp_asterisk.c): a frame whose wall-clock timestamp is this
 * far from the one predicted from the previous packet starts a new talkspurt.
 */
const MAX_TIMESTAMP_SKEW = 640;

/**
 * The far end of an externalMedia `rtp`/`udp` channel (chan_rtp's UnicastRTP). Sends one
 * RTP packet per 20 ms tick that has audio to `external_host`, from the socket whose address
 * it reports; accepts RTP from any source (symmetric, like strictrtp learning the source).
 */
export class RtpEndpoint implements FarEnd {
  readonly stats: RtpStats = { packetsSent: 0, packetsReceived: 0, malformedReceived: 0, wrongPayloadType: 0, overflowSamples: 0 };
  readonly ssrc = randomInt(0, 2 ** 32 - 1);
  private sequence = randomInt(0, 65_535);
  /** Timestamp of the last packet sent, and media ticks since then (undefined before the first). */
  private lastTimestamp = 0;
  private ticksSinceSent: number | undefined;
  private closed = false;
  private readonly fifo = new SampleFifo((ENGINE_SAMPLE_RATE * 300) / 1000);
  private readonly toLeg: RateConverter;
  private readonly fromLeg = new Map<MediaFormat, RateConverter>();
  private outboundFaults: FaultInjector | undefined;
  private inboundFaults: FaultInjector | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly options: RtpEndpointOptions,
    readonly localPort: number,
  ) {
    this.toLeg = new RateConverter(ENGINE_SAMPLE_RATE, FORMATS[options.format].sampleRate);
    socket.on('message', (data) => {
      if (this.inboundFaults) this.inboundFaults.pass(data);
      else this.receive(data);
    });
  }

  static async open(options: RtpEndpointOptions): Promise<RtpEndpoint> {
    const socket = createSocket(options.bindAddress.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, options.bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {});
    return new RtpEndpoint(socket, options, socket.address().port);
  }

  get localAddress(): string {
    return this.options.bindAddress;
  }

  /** Installs (or clears, with undefined) network faults on this leg. */
  setFaults(plan: FaultPlan | undefined): void {
    this.outboundFaults?.close();
    this.inboundFaults?.close();
    this.outboundFaults = undefined;
    this.inboundFaults = undefined;
    if (!plan) return;
    const direction = plan.direction ?? 'to-app';
    if (direction !== 'from-app') this.outboundFaults = new FaultInjector(plan, (packet) => this.sendRaw(packet));
    if (direction !== 'to-app') this.inboundFaults = new FaultInjector({ ...plan, seed: (plan.seed ?? 1) + 1 }, (packet) => this.receive(packet));
  }

  /** Sends `count` datagrams that are not valid RTP to the application. */
  sendMalformedBurst(count: number, seed = 7): void {
    for (const packet of malformedPackets(count, seededRandom(seed))) this.sendRaw(packet);
  }

  produce(): Int16Array | null {
    return this.fifo.read(ENGINE_FRAME_SAMPLES, true);
  }

  /**
   * Sends what Asterisk sends for this tick: nothing without audio; otherwise one packet with
   * the frame's real samples (a burst's last frame may be short). Timestamps and the marker
   * follow res_rtp_asterisk for frames without timing information: a packet is stamped with the
   * previous timestamp plus its own samples, unless the time since the previous packet says
   * otherwise by MAX_TIMESTAMP_SKEW or more; then it carries the wall-clock timestamp (the gap)
   * and the marker. The first packet is stamped with its samples and is not marked.
   */
  consume(frame: Int16Array | null): void {
    if (this.ticksSinceSent !== undefined) this.ticksSinceSent += 1;
    if (!frame || this.closed) return;
    const info = FORMATS[this.options.format];
    const payload = encodeSamples(this.options.format, this.toLeg.convert(frame), 'big');
    const samples = this.options.format === 'slin16' ? payload.length / 2 : payload.length;
    if (samples === 0) return;
    const predicted = this.lastTimestamp + samples;
    const wallClock = this.lastTimestamp + (this.ticksSinceSent ?? 0) * info.frameSamples;
    const marker = this.ticksSinceSent !== undefined && Math.abs(wallClock - predicted) >= MAX_TIMESTAMP_SKEW;
    this.lastTimestamp = (marker ? wallClock : predicted) >>> 0;
    this.ticksSinceSent = 0;
    const packet = buildRtpPacket({
      payloadType: info.payloadType,
      sequenceNumber: this.sequence,
      timestamp: this.lastTimestamp,
      ssrc: this.ssrc,
      marker,
      payload,
    });
    this.sequence = (this.sequence + 1) & 0xffff;
    if (this.outboundFaults) this.outboundFaults.pass(packet);
    else this.sendRaw(packet);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.outboundFaults?.close();
    this.inboundFaults?.close();
    this.socket.close();
  }

  private sendRaw(packet: Buffer): void {
    if (this.closed) return;
    this.stats.packetsSent += 1;
    this.socket.send(packet, this.options.remotePort, this.options.remoteHost);
  }

  private receive(data: Buffer): void {
    if (this.closed) return;
    const packet = parseRtpPacket(data);
    if (!packet) {
      this.stats.malformedReceived += 1;
      return;
    }
    const format = RECEIVED_FORMATS[packet.payloadType];
    if (!format) {
      this.stats.wrongPayloadType += 1;
      return;
    }
    this.stats.packetsReceived += 1;
    let converter = this.fromLeg.get(format);
    if (!converter) {
      converter = new RateConverter(FORMATS[format].sampleRate, ENGINE_SAMPLE_RATE);
      this.fromLeg.set(format, converter);
    }
    const before = this.fifo.dropped;
    this.fifo.write(converter.convert(decodeBytes(format, packet.payload, 'big')));
    this.stats.overflowSamples += this.fifo.dropped - before;
  }
}
