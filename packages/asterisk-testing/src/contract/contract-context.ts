import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { decodeBytes, parseRtpPacket, rms, type RtpPacket } from '@avp/asterisk-simulator';
import { afterAll, beforeAll } from 'vitest';
import { AriTestClient, type AriTestEvent } from '../ari-test-client.ts';
import { startTestTelephony, type TelephonyKind, type TestTelephony } from '../test-telephony.ts';

/** A 440 Hz tone at 16 kHz (what a test caller says). */
export function tone(ms: number, hz = 440, amplitude = 8000): Int16Array {
  return Int16Array.from({ length: (16_000 * ms) / 1000 }, (_, index) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * index) / 16_000)));
}

/** What the contract tests share: the telephony, and an ARI client acting as the platform's Stasis app. */
export interface ContractContext {
  telephony: TestTelephony;
  /** The platform's side: the inbound calls' Stasis app. */
  app: AriTestClient;
}

/** Starts the telephony and connects the platform-side app once for a file's tests. */
export function useContractContext(kind: TelephonyKind): () => ContractContext {
  let context: ContractContext | undefined;
  beforeAll(async () => {
    const ariApp = `contract-${randomUUID().slice(0, 8)}`;
    const telephony = await startTestTelephony(kind, { ariApp });
    const app = new AriTestClient(telephony.url, telephony.ariUser, telephony.ariPassword, ariApp);
    await app.connect();
    await telephony.waitForApp();
    context = { telephony, app };
  }, 60_000);
  afterAll(async () => {
    await context?.app.close();
    await context?.telephony.close();
  }, 60_000);
  return () => {
    if (!context) throw new Error('the contract context is not started');
    return context;
  };
}

/** Places a call and waits for it to arrive in the app (StasisStart); answers it when asked. */
export async function inboundCall(context: ContractContext, options: { answer?: boolean; callerNumber?: string } = {}) {
  const extension = `+1555${Math.floor(Math.random() * 1e7)}`;
  const arrived = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.dialplan?.exten === extension, 10_000, `StasisStart of the call to ${extension}`);
  const caller = context.telephony.placeCall({ extension, callerNumber: options.callerNumber ?? '+15550100200' });
  const start = await arrived;
  const channelId = start.channel!.id;
  if (options.answer ?? true) {
    await context.app.request('POST', `/channels/${channelId}/answer`);
    await caller.waitForAnswer(10_000);
  }
  return { caller, channelId, start, extension };
}

/** A UDP socket standing in for the platform's RTP peer, keeping what arrives. */
export async function rtpPeer(): Promise<{ socket: Socket; port: number; packets: { packet: RtpPacket; at: number }[]; close(): void }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const packets: { packet: RtpPacket; at: number }[] = [];
  socket.on('message', (data) => {
    const packet = parseRtpPacket(data);
    if (packet) packets.push({ packet, at: performance.now() });
  });
  return { socket, port: socket.address().port, packets, close: () => socket.close() };
}

/** Whether a u-law payload carries sound (not silence). */
export function loudUlaw(payload: Buffer): boolean {
  return rms(decodeBytes('ulaw', payload, 'big')) > 300;
}

/** The events about one channel, in arrival order, from `from` on. */
export function eventsOf(client: AriTestClient, channelId: string, from = 0): AriTestEvent[] {
  return client.received.slice(from).filter((event) => event.channel?.id === channelId);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
