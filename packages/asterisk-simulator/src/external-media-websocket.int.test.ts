import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { Caller } from './caller/scripted-caller.ts';
import { encodeSamples } from './media/codecs.ts';
import { sineTone } from './media/wav.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import { PlainAriClient, type EventStream } from './testing/plain-ari-client.ts';

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;

beforeEach(async () => {
  simulator = await startAsteriskSimulator();
  ari = new PlainAriClient(simulator.url);
  events = await ari.events('media');
});

afterEach(async () => {
  events.close();
  await simulator.close();
});

/** Reads text and binary messages of a media socket in order. */
class MediaSocket {
  readonly texts: string[] = [];
  binaryFrames = 0;
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames += 1;
      else this.texts.push(String(data));
    });
  }
  async text(match: (text: string) => boolean, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.texts.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching text message; got ${this.texts.join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

async function createServerMode(transportData?: string): Promise<{ channelId: string; connectionId: string }> {
  const query: Record<string, string> = { app: 'media', transport: 'websocket', encapsulation: 'none', connection_type: 'server', external_host: 'INCOMING', format: 'ulaw' };
  if (transportData) query.transport_data = transportData;
  const created = await ari.request('POST', '/channels/externalMedia', query);
  expect(created.status).toBe(200);
  expect(created.body.name).toMatch(/^WebSocket\/INCOMING\/0x/);
  const vars = created.body.channelvars as Record<string, string>;
  expect(vars.MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE).toBe('160');
  return { channelId: created.body.id as string, connectionId: vars.MEDIA_WEBSOCKET_CONNECTION_ID as string };
}

async function connectMedia(connectionId: string): Promise<MediaSocket> {
  const socket = new WebSocket(`${simulator.url.replace('http', 'ws')}/media/${connectionId}`, ['media']);
  const media = new MediaSocket(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  expect(socket.protocol).toBe('media');
  return media;
}

/** A caller bridged with a server-mode WebSocket media channel, in the order real Asterisk needs: create, connect, StasisStart, bridge. */
async function serverModeCall(transportData?: string): Promise<{ caller: Caller; media: MediaSocket; channelId: string; connectionId: string }> {
  const caller = simulator.placeCall({ app: 'media' });
  await ari.request('POST', `/channels/${caller.id}/answer`);
  const { channelId, connectionId } = await createServerMode(transportData);
  const media = await connectMedia(connectionId);
  await events.next('StasisStart', (event) => (event.channel as { id: string }).id === channelId);
  const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
  await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${caller.id},${channelId}` });
  return { caller, media, channelId, connectionId };
}

const ulawTone = (ms: number) => encodeSamples('ulaw', sineTone(440, ms).filter((_sample, index) => index % 2 === 0), 'little');

describe('externalMedia over WebSocket in server mode: the dial waits for the client', () => {
  it('keeps the channel Down and outside Stasis until a client connects; then MEDIA_START, Up, StasisStart', async () => {
    const { channelId, connectionId } = await createServerMode();
    await events.next('Dial', (event) => (event.peer as { id: string }).id === channelId);
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
    expect(await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: channelId })).toEqual({
      status: 422,
      body: { message: 'Channel not in Stasis application' },
    });
    expect((await ari.request('POST', `/channels/${channelId}/answer`)).status).toBe(409);
    expect((await ari.request('GET', `/channels/${channelId}`)).body).toMatchObject({ state: 'Down', dialplan: { app_name: 'AppDial2' } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.typesFor(channelId)).toEqual(['Dial']);

    const media = await connectMedia(connectionId);
    await media.text((text) => text.startsWith('MEDIA_START'));
    const start = await events.next('StasisStart', (event) => (event.channel as { id: string }).id === channelId);
    expect(start.channel).toMatchObject({ state: 'Up' });
    expect(events.typesFor(channelId)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    expect(events.all.filter((event) => event.type === 'Dial').map((event) => event.dialstatus)).toEqual(['', 'ANSWER']);
    expect((await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: channelId })).status).toBe(204);
  });

  it('hangs up a channel deleted before any client connected with Dial NOANSWER', async () => {
    const { channelId } = await createServerMode();
    await events.next('Dial', (event) => (event.peer as { id: string }).id === channelId);
    expect((await ari.request('DELETE', `/channels/${channelId}`)).status).toBe(204);
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 16, cause_txt: 'Normal Clearing' });
    expect(events.typesFor(channelId)).toEqual(['Dial', 'ChannelHangupRequest', 'Dial', 'ChannelDestroyed']);
    expect(events.all.filter((event) => event.type === 'Dial').map((event) => event.dialstatus)).toEqual(['', 'NOANSWER']);
  });
});

describe('externalMedia over WebSocket (chan_websocket)', () => {
  it('starts with MEDIA_START, carries audio both ways, and re-times a burst', async () => {
    const { caller, media, channelId, connectionId } = await serverModeCall();
    const start = await media.text((text) => text.startsWith('MEDIA_START'));
    expect(start).toMatch(new RegExp(`^MEDIA_START connection_id:${connectionId} channel:WebSocket/INCOMING/0x[0-9a-f]+ channel_id:${channelId} format:ulaw optimal_frame_size:160 ptime:20$`));

    // What the caller says arrives as raw 160-byte binary frames.
    await caller.play(sineTone(440, 200));
    const deadline = Date.now() + 2000;
    while (media.binaryFrames < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(media.binaryFrames).toBeGreaterThanOrEqual(10);

    // One second of audio sent at once is played out at real time, 20 ms per frame.
    media.socket.send(ulawTone(1000));
    const heard = caller.waitForAudio();
    media.socket.send('GET_STATUS');
    const status = await media.text((text) => text.startsWith('STATUS'));
    expect(status).toMatch(/^STATUS channel_id:\S+ queue_length:\d+ xon_level:800 xoff_level:900 queue_full:false bulk_media:false media_paused:false$/);
    const queued = Number(/queue_length:(\d+)/.exec(status)?.[1]);
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThanOrEqual(50);
    await heard;
    await caller.waitForSilence(3000);
    const segment = caller.heardSegments.at(-1);
    expect(segment).toBeDefined();
  });

  it('FLUSH_MEDIA discards queued audio so the caller stops hearing it', async () => {
    const { caller, media } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    media.socket.send(ulawTone(2000));
    await caller.waitForAudio();
    media.socket.send('FLUSH_MEDIA');
    media.socket.send('GET_STATUS');
    expect(await media.text((text) => text.startsWith('STATUS'))).toContain('queue_length:0 ');
    await caller.waitForSilence();
    const recording = caller.recording();
    const heardFrames = caller.heardSegments.reduce((sum, segment) => sum + (segment.endMs - segment.startMs) / 20, 0);
    // 2 s (100 frames) were queued; the flush cut them short.
    expect(heardFrames).toBeLessThan(50);
    expect(recording.length).toBeGreaterThan(0);
  });

  it('buffers odd-sized media between START and STOP_MEDIA_BUFFERING and reports completion', async () => {
    const { media } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    media.socket.send('START_MEDIA_BUFFERING');
    const audio = ulawTone(300);
    media.socket.send(audio.subarray(0, 1001));
    media.socket.send(audio.subarray(1001, 2400));
    media.socket.send('STOP_MEDIA_BUFFERING prompt-1');
    expect(await media.text((text) => text.startsWith('MEDIA_BUFFERING_COMPLETED'))).toBe('MEDIA_BUFFERING_COMPLETED prompt-1');
    media.socket.send('MARK_MEDIA m1');
    expect(await media.text((text) => text.startsWith('MEDIA_MARK_PROCESSED'))).toBe('MEDIA_MARK_PROCESSED m1');
  });

  it('sends MEDIA_XOFF when the queue passes 900 frames and MEDIA_XON after it drains', async () => {
    const { media } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    const second = ulawTone(1000);
    for (let index = 0; index < 19; index += 1) media.socket.send(second);
    await media.text((text) => text === 'MEDIA_XOFF');
    media.socket.send('FLUSH_MEDIA');
    await media.text((text) => text === 'MEDIA_XON');
  });

  it('speaks JSON control messages with f(json)', async () => {
    const { media, channelId } = await serverModeCall('f(json)');
    const start = JSON.parse(await media.text((text) => text.includes('MEDIA_START'))) as Record<string, unknown>;
    expect(start).toMatchObject({ event: 'MEDIA_START', channel_id: channelId, format: 'ulaw', optimal_frame_size: 160, ptime: 20 });
    expect(start.channel_variables).toMatchObject({ MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '160' });
    media.socket.send(JSON.stringify({ command: 'GET_STATUS' }));
    const status = JSON.parse(await media.text((text) => text.includes('"STATUS"'))) as Record<string, unknown>;
    expect(status).toMatchObject({ event: 'STATUS', queue_length: 0, xon_level: 800, xoff_level: 900, queue_full: false });
  });

  it('passes caller DTMF to the media socket and hangs up when the socket closes', async () => {
    const { caller, media, channelId } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    await caller.sendDtmf('5');
    expect(await media.text((text) => text.startsWith('DTMF_END'))).toBe(`DTMF_END digit:5 channel_id:${channelId}`);
    media.socket.close();
    const request = await events.next('ChannelHangupRequest', (event) => (event.channel as { id: string }).id === channelId);
    expect(request).toMatchObject({ cause: 16, tech_cause: 1001 });
    expect(await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === channelId)).toMatchObject({ cause: 16 });
  });

  it('hangs up when a binary message exceeds 65,500 bytes', async () => {
    const { media, channelId } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    media.socket.send(Buffer.alloc(70_000, 0xff));
    const destroyed = await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === channelId);
    expect(destroyed).toMatchObject({ cause: 16, tech_cause: 1009 });
  });

  it('HANGUP over the media socket hangs up the channel', async () => {
    const { media, channelId } = await serverModeCall();
    await media.text((text) => text.startsWith('MEDIA_START'));
    media.socket.send('HANGUP');
    await events.next('ChannelDestroyed', (event) => (event.channel as { id: string }).id === channelId);
  });

  it('connects out to a configured client (websocket_client.conf) with the media subprotocol', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false) });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      simulator.addWebSocketClient('agent', `ws://127.0.0.1:${port}/media`);
      const connected = new Promise<{ socket: WebSocket; url: string; first: string }>((resolve) => {
        server.once('connection', (socket, request) => {
          socket.once('message', (data) => resolve({ socket, url: request.url ?? '', first: String(data) }));
        });
      });
      const created = await ari.request('POST', '/channels/externalMedia', {
        app: 'media',
        transport: 'websocket',
        encapsulation: 'none',
        external_host: 'agent',
        format: 'slin16',
        transport_data: 'v(call=abc)',
      });
      expect(created.status).toBe(200);
      expect(created.body.channelvars).toEqual({ MEDIA_WEBSOCKET_CONNECTION_ID: 'agent', MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE: '640' });
      const { socket, url, first } = await connected;
      expect(socket.protocol).toBe('media');
      expect(url).toBe('/media?call=abc');
      expect(first).toMatch(/^MEDIA_START connection_id:agent channel:WebSocket\/agent\/0x[0-9a-f]+ .*format:slin16 optimal_frame_size:640 ptime:20$/);
      await events.next('StasisStart', (event) => (event.channel as { id: string }).id === created.body.id);
      socket.close();
    } finally {
      server.close();
    }
  });

  it('rejects an unknown client id', async () => {
    const created = await ari.request('POST', '/channels/externalMedia', { app: 'media', transport: 'websocket', encapsulation: 'none', external_host: 'nope', format: 'ulaw' });
    expect(created.status).toBe(400);
  });
});
