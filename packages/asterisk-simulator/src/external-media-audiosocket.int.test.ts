import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audioSocketFrame } from './media/audiosocket-endpoint.ts';
import { bytesToPcm, pcmToBytes, rms } from './media/codecs.ts';
import { sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import { PlainAriClient, type EventStream } from './testing/plain-ari-client.ts';

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;
let server: Server;
let accepted: Promise<Socket>;

beforeEach(async () => {
  simulator = await startAsteriskSimulator();
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('media');
  server = createServer();
  accepted = new Promise((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterEach(async () => {
  events.close();
  await simulator.close();
  server.close();
});

/** Splits a TCP byte stream into AudioSocket frames. */
function frames(socket: Socket): { kind: number; payload: Buffer }[] {
  const out: { kind: number; payload: Buffer }[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (data) => {
    buffered = Buffer.concat([buffered, data]);
    while (buffered.length >= 3 && buffered.length >= 3 + buffered.readUInt16BE(1)) {
      const length = buffered.readUInt16BE(1);
      out.push({ kind: buffered[0] as number, payload: buffered.subarray(3, 3 + length) });
      buffered = buffered.subarray(3 + length);
    }
  });
  return out;
}

describe('externalMedia over AudioSocket', () => {
  it('sends the UUID then slin16 frames, and plays frames sent back to the caller', async () => {
    const caller = simulator.placeCall({ app: 'media' });
    await ari.request('POST', `/channels/${caller.id}/answer`);
    const uuid = '4f3c2b1a-0000-4000-8000-00000000abcd';
    const created = await ari.request('POST', '/channels/externalMedia', {
      app: 'media',
      external_host: `127.0.0.1:${(server.address() as { port: number }).port}`,
      encapsulation: 'audiosocket',
      transport: 'tcp',
      format: 'slin16',
      data: uuid,
    });
    expect(created.status).toBe(200);
    const socket = await accepted;
    const received = frames(socket);
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === created.body.id);
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
    await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${caller.id},${created.body.id}` });

    await caller.play(sineTone(440, 200));
    const deadline = Date.now() + 2000;
    while (received.filter((frame) => frame.kind === 0x12).length < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received[0]).toEqual({ kind: 0x01, payload: Buffer.from(uuid.replace(/-/g, ''), 'hex') });
    const audio = received.filter((frame) => frame.kind === 0x12);
    expect(new Set(audio.map((frame) => frame.payload.length))).toEqual(new Set([640]));
    expect(audio.filter((frame) => rms(bytesToPcm(frame.payload, 'little')) > 1000).length).toBeGreaterThanOrEqual(9);

    const heard = caller.waitForAudio();
    const tone = sineTone(1000, 200);
    for (let frame = 0; frame < 10; frame += 1) {
      socket.write(audioSocketFrame(0x12, pcmToBytes(tone.subarray(frame * 320, (frame + 1) * 320), 'little')));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await heard;

    socket.write(audioSocketFrame(0x00));
    expect(await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === created.body.id)).toMatchObject({ cause: 16 });
  });

  it('requires the call UUID in data', async () => {
    const response = await ari.request('POST', '/channels/externalMedia', {
      app: 'media',
      external_host: '127.0.0.1:9',
      encapsulation: 'audiosocket',
      transport: 'tcp',
      format: 'slin16',
    });
    expect(response.status).toBe(400);
  });
});
