/** Test doubles of third-party engines for external media streams (flow-manager's tests and packages/e2e). */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';

/** G.711 u-law of one 16-bit sample (the test engine's own, independent of the platform's). */
export function mulawOf(sample: number): number {
  const bias = 0x84;
  let value = Math.max(-32_635, Math.min(32_635, Math.round(sample)));
  const sign = value < 0 ? 0x80 : 0;
  if (sign) value = -value;
  value += bias;
  let exponent = 7;
  for (let mask = 0x4000; (value & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (value >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function linearOfMulaw(byte: number): number {
  const code = ~byte & 0xff;
  const magnitude = ((((code & 0x0f) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84;
  return code & 0x80 ? -magnitude : magnitude;
}

/** A tone: `seconds` of `hz` at `rate`, amplitude 8000. */
export function tone(seconds: number, hz: number, rate: number): Int16Array {
  return Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)));
}

export function rms(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let index = 0; index < samples.length; index += 1) sum += (samples[index] as number) ** 2;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** One message an engine received, with its arrival time (performance.now). */
export interface Received {
  at: number;
  text?: string;
  json?: Record<string, unknown>;
  binary?: Buffer;
}

/**
 * A third-party engine for the tests: a WebSocket server on 127.0.0.1 (dial-out) or a client
 * (dial-in) that records every message with its arrival time and can answer.
 */
export class TestEngine {
  readonly received: Received[] = [];
  socket: WebSocket | undefined;
  private server: WebSocketServer | undefined;
  private readonly waiters = new Set<() => void>();
  closedByPeer = false;
  closeCode: number | undefined;

  /** Listens on 127.0.0.1 at a free port; `url` is where the platform dials. */
  static async listen(): Promise<TestEngine & { url: string }> {
    const engine = new TestEngine();
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    engine.server = server;
    server.on('connection', (socket) => engine.attach(socket));
    return Object.assign(engine, { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/engine` });
  }

  /** Dials in to a platform URL; resolves once open (or rejects). */
  static async dial(url: string): Promise<TestEngine> {
    const engine = new TestEngine();
    const socket = new WebSocket(url);
    engine.attach(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return engine;
  }

  private attach(socket: WebSocket): void {
    this.socket = socket;
    socket.on('message', (data, isBinary) => {
      const buffer = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      const entry: Received = { at: performance.now() };
      if (isBinary) entry.binary = buffer;
      else {
        entry.text = buffer.toString('utf8');
        try {
          entry.json = JSON.parse(entry.text) as Record<string, unknown>;
        } catch {
          // Plain-text control (asterisk format).
        }
      }
      this.received.push(entry);
      for (const waiter of [...this.waiters]) waiter();
    });
    socket.on('close', (code) => {
      this.closedByPeer = true;
      this.closeCode = code;
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** Resolves with the first received message (from index `from`) matching, within `timeoutMs`. */
  waitFor(match: (entry: Received) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.slice(from).find(match);
        if (found) {
          this.waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the engine got no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves once the socket has closed. */
  async closed(timeoutMs = 10_000): Promise<number | undefined> {
    const started = performance.now();
    while (!this.closedByPeer) {
      if (performance.now() - started > timeoutMs) throw new Error(`the engine's socket did not close within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.closeCode;
  }

  event(name: string): (entry: Received) => boolean {
    return (entry) => entry.json?.event === name;
  }

  send(data: string | Buffer): void {
    this.socket!.send(data);
  }

  async close(): Promise<void> {
    this.socket?.close(1000);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The Twilio engine's `media` messages decoded to 8 kHz PCM, from index `from`. */
export function twilioInbound(engine: TestEngine, from = 0): { at: number; chunk: number; timestamp: number; samples: Int16Array }[] {
  return engine.received.slice(from).flatMap((entry) => {
    if (entry.json?.event !== 'media') return [];
    const media = entry.json.media as { chunk: string; timestamp: string; payload: string };
    const bytes = Buffer.from(media.payload, 'base64');
    return [{ at: entry.at, chunk: Number(media.chunk), timestamp: Number(media.timestamp), samples: Int16Array.from(bytes, linearOfMulaw) }];
  });
}

/** u-law bytes of a tone, for a Twilio engine's answer. */
export function mulawTone(seconds: number, hz: number): Buffer {
  return Buffer.from(Array.from(tone(seconds, hz, 8000), mulawOf));
}

/** slin16 (little-endian) bytes of a tone, for an asterisk-format engine's answer. */
export function slin16Tone(seconds: number, hz: number): Buffer {
  const samples = tone(seconds, hz, 16_000);
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}

/** Sends u-law audio as Twilio media messages of `chunkBytes` each (all at once, as bots do). */
export function sendTwilioAudio(engine: TestEngine, streamSid: string, audio: Buffer, chunkBytes = 800): void {
  for (let offset = 0; offset < audio.length; offset += chunkBytes) {
    engine.send(JSON.stringify({ event: 'media', streamSid, media: { payload: audio.subarray(offset, offset + chunkBytes).toString('base64') } }));
  }
}
