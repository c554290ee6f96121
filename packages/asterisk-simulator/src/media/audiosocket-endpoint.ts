import { connect, type Socket } from 'node:net';
import type { FarEnd } from '../model/far-end.ts';
import { bytesToPcm, ENGINE_FRAME_SAMPLES, ENGINE_SAMPLE_RATE, pcmToBytes, RateConverter } from './codecs.ts';
import { SampleFifo } from './sample-fifo.ts';

/** AudioSocket frame kinds (include/asterisk/res_audiosocket.h). */
export const AUDIOSOCKET_KIND = { hangup: 0x00, uuid: 0x01, dtmf: 0x03, slin8: 0x10, slin16: 0x12, error: 0xff } as const;

export interface AudioSocketHooks {
  hangup(cause: number): void;
}

/** One AudioSocket frame: kind (1 byte), payload length (2 bytes, big-endian), payload. */
export function audioSocketFrame(kind: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(3);
  header[0] = kind;
  header.writeUInt16BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/**
 * The far end of an externalMedia `audiosocket`/`tcp` channel: Asterisk connects to the
 * application, sends the call UUID first, then 20 ms frames of signed linear audio
 * (little-endian; kind 0x10 for slin, 0x12 for slin16). Audio from the application is not
 * re-timed: like Asterisk, the application must pace it.
 */
export class AudioSocketEndpoint implements FarEnd {
  private buffered = Buffer.alloc(0);
  private closed = false;
  private readonly fifo = new SampleFifo((ENGINE_SAMPLE_RATE * 300) / 1000);
  private readonly toLeg: RateConverter;
  private readonly fromLeg: RateConverter;
  private readonly kind: number;

  private constructor(
    private readonly socket: Socket,
    readonly format: 'slin' | 'slin16',
    private readonly hooks: AudioSocketHooks,
  ) {
    const rate = format === 'slin16' ? 16_000 : 8000;
    this.kind = format === 'slin16' ? AUDIOSOCKET_KIND.slin16 : AUDIOSOCKET_KIND.slin8;
    this.toLeg = new RateConverter(ENGINE_SAMPLE_RATE, rate);
    this.fromLeg = new RateConverter(rate, ENGINE_SAMPLE_RATE);
    socket.on('data', (data) => this.onData(data));
    socket.on('close', () => {
      if (!this.closed) this.hooks.hangup(16);
    });
    socket.on('error', () => {});
  }

  /** Connects to the application and sends the UUID frame. */
  static async open(host: string, port: number, uuid: string, format: 'slin' | 'slin16', hooks: AudioSocketHooks): Promise<AudioSocketEndpoint> {
    const socket = connect({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('AudioSocket connect timeout')), 3000);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    socket.write(audioSocketFrame(AUDIOSOCKET_KIND.uuid, Buffer.from(uuid.replace(/-/g, ''), 'hex')));
    return new AudioSocketEndpoint(socket, format, hooks);
  }

  produce(): Int16Array | null {
    return this.fifo.read(ENGINE_FRAME_SAMPLES, true);
  }

  consume(frame: Int16Array | null): void {
    if (!frame || this.closed) return;
    this.socket.write(audioSocketFrame(this.kind, pcmToBytes(this.toLeg.convert(frame), 'little')));
  }

  receiveDtmf(digit: string): void {
    if (!this.closed) this.socket.write(audioSocketFrame(AUDIOSOCKET_KIND.dtmf, Buffer.from(digit, 'ascii')));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end(audioSocketFrame(AUDIOSOCKET_KIND.hangup));
  }

  private onData(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    while (this.buffered.length >= 3) {
      const kind = this.buffered[0] as number;
      const length = this.buffered.readUInt16BE(1);
      if (this.buffered.length < 3 + length) return;
      const payload = this.buffered.subarray(3, 3 + length);
      this.buffered = this.buffered.subarray(3 + length);
      if (kind === AUDIOSOCKET_KIND.hangup) {
        this.hooks.hangup(16);
        return;
      }
      if (kind === AUDIOSOCKET_KIND.error) {
        this.hooks.hangup(38);
        return;
      }
      if (kind === this.kind) this.fifo.write(this.fromLeg.convert(bytesToPcm(payload, 'little')));
    }
  }
}
