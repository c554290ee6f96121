import { createSocket, type Socket } from 'node:dgram';
import { buildRtpPacket, parseRtpPacket, type RtpPacket } from '../rtp-packet.ts';

/** A UDP socket standing in for Asterisk's side of an external media channel. */
export class RtpPeer {
  readonly received: RtpPacket[] = [];
  private sequenceNumber = 1000;
  private timestamp = 5000;

  private constructor(
    private readonly socket: Socket,
    private readonly target: { address: string; port: number },
    private readonly payloadType: number,
    private readonly samplesPerPacket: number,
    public ssrc: number,
  ) {
    socket.on('message', (message) => {
      const packet = parseRtpPacket(message);
      if (typeof packet !== 'string') this.received.push({ ...packet, payload: packet.payload.slice() });
    });
  }

  static async create(target: { address: string; port: number }, payloadType: number, samplesPerPacket: number): Promise<RtpPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new RtpPeer(socket, target, payloadType, samplesPerPacket, 0x11223344);
  }

  address(): { address: string; port: number } {
    const address = this.socket.address();
    return { address: address.address, port: address.port };
  }

  /** Builds the next packet in sequence (without sending it). */
  nextPacket(payload: Uint8Array): Uint8Array {
    const packet = buildRtpPacket({ payloadType: this.payloadType, marker: false, sequenceNumber: this.sequenceNumber, timestamp: this.timestamp, ssrc: this.ssrc }, payload);
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
    this.timestamp = (this.timestamp + this.samplesPerPacket) >>> 0;
    return packet;
  }

  /** Lets `packets` packets' time pass unsent, as a sender that suppresses silence does. */
  pause(packets: number): void {
    this.timestamp = (this.timestamp + packets * this.samplesPerPacket) >>> 0;
  }

  /** Starts a new stream (as after a re-INVITE): new SSRC and sequence base. */
  restart(ssrc: number, sequenceNumber: number): void {
    this.ssrc = ssrc;
    this.sequenceNumber = sequenceNumber;
  }

  async sendRaw(datagram: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.send(datagram, this.target.port, this.target.address, (error) => (error ? reject(error) : resolve())));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
