import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from './audio-format.ts';
import { g711Codec } from './g711.ts';
import { PacingScheduler } from './pacing-scheduler.ts';
import { parseMediaControlMessage } from './websocket-control.ts';
import { connectWebSocketMedia, type WebSocketMediaTransport } from './websocket-transport.ts';
import { WebSocketMediaPeer } from './testing/websocket-media-peer.ts';
import { sineWave } from './testing/signals.ts';
import { waitFor } from './testing/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const plainStart = (format: string, size: number): string =>
  `MEDIA_START connection_id:conn-1 channel:WebSocket/INCOMING/0x7f channel_id:1700000000.1 format:${format} optimal_frame_size:${size} ptime:20`;

async function connect(start: string, options: { sendAheadMs?: number; fillSilenceAfterMs?: number } = {}): Promise<{ peer: WebSocketMediaPeer; transport: WebSocketMediaTransport }> {
  const peer = await WebSocketMediaPeer.create();
  cleanups.push(() => peer.close());
  const scheduler = new PacingScheduler();
  cleanups.push(() => scheduler.stop());
  const connecting = connectWebSocketMedia({ url: peer.url(), scheduler, sendAheadMs: options.sendAheadMs ?? 100, fillSilenceAfterMs: options.fillSilenceAfterMs ?? 0 });
  await waitFor(() => peer.socket !== undefined, 5000, 'the client');
  peer.sendText(start);
  const transport = await connecting;
  cleanups.push(() => transport.close());
  return { peer, transport };
}

describe('WebSocket media transport', () => {
  it('negotiates the media subprotocol, reads MEDIA_START and exchanges u-law audio', async () => {
    const { peer, transport } = await connect(plainStart('ulaw', 160));
    expect(peer.protocols).toEqual(['media']);
    expect(transport.codec).toBe('ulaw');
    expect(transport.mediaStart).toMatchObject({ connectionId: 'conn-1', channelId: '1700000000.1', optimalFrameSize: 160, ptimeMs: 20, json: false });
    const frames: number[] = [];
    transport.onAudio((_frame, mediaTimeMs) => frames.push(mediaTimeMs));
    const tone = new Uint8Array(160 * 10);
    g711Codec('ulaw').encode(sineWave(1000, 8000, 1600, 6000), tone);
    // Asterisk may deliver several frames in one message.
    peer.sendBinary(tone.subarray(0, 480));
    peer.sendBinary(tone.subarray(480));
    await waitFor(() => frames.length === 10, 5000, 'ten frames');
    expect(frames).toEqual([0, 20, 40, 60, 80, 100, 120, 140, 160, 180]);

    for (let index = 0; index < 5; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(2000), 'hello');
    await waitFor(() => peer.binary.length === 5, 5000, 'five frames out');
    expect(peer.binary.every((message) => message.length === 160)).toBe(true);
  });

  it('sends only sendAheadMs ahead, pauses on MEDIA_XOFF and resumes on MEDIA_XON', async () => {
    const { peer, transport } = await connect(plainStart('slin16', 640), { sendAheadMs: 100 });
    for (let index = 0; index < 100; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(index), 'long');
    await waitFor(() => peer.binary.length >= 5, 5000, 'the first burst');
    // 100 ms ahead = 5 frames sent at once, the other 95 wait in the local queue.
    expect(peer.binary.length).toBeLessThan(100);
    expect(peer.binary[0]?.length).toBe(640);
    expect(peer.binary[1]?.readInt16LE(0)).toBe(1);
    peer.sendText('MEDIA_XOFF');
    await waitFor(() => transport.stats().paused, 5000, 'XOFF');
    const whilePaused = transport.stats().framesSent;
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(transport.stats().framesSent).toBe(whilePaused);
    peer.sendText('MEDIA_XON');
    await waitFor(() => peer.binary.length > whilePaused + 2, 5000, 'resumed sending');
    expect(transport.stats().xoffCount).toBe(1);
  });

  it('on interrupt drops queued audio, sends FLUSH_MEDIA and reports the played length', async () => {
    const { peer, transport } = await connect(JSON.stringify({ event: 'MEDIA_START', connection_id: 'c', format: 'ulaw', optimal_frame_size: 160, ptime: 20 }), { sendAheadMs: 100 });
    expect(transport.mediaStart.json).toBe(true);
    for (let index = 0; index < 50; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(3000), 'answer');
    await waitFor(() => peer.binary.length >= 8, 5000, 'some audio');
    const report = transport.interrupt();
    const sentAtInterrupt = transport.stats().framesSent;
    expect(report).toHaveLength(1);
    const [playout] = report;
    expect(playout?.segmentId).toBe('answer');
    expect((playout?.playedMs ?? 0) + (playout?.droppedMs ?? 0)).toBe(1000);
    // Played can only be what left the process, less what Asterisk still held (up to sendAheadMs).
    expect(playout?.playedMs).toBeLessThanOrEqual(sentAtInterrupt * 20);
    expect(playout?.playedMs).toBeGreaterThanOrEqual(sentAtInterrupt * 20 - 100);
    await waitFor(() => peer.text.length > 0, 5000, 'the flush');
    expect(peer.text.map((text) => parseMediaControlMessage(text)?.event)).toEqual(['FLUSH_MEDIA']);
    expect(JSON.parse(peer.text[0] as string)).toEqual({ command: 'FLUSH_MEDIA' });
    await waitFor(() => peer.binary.length >= sentAtInterrupt, 5000, 'frames already sent');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(transport.stats().framesSent).toBe(sentAtInterrupt);
    expect(peer.binary.length).toBe(sentAtInterrupt);
  });

  it('feeds silence from MEDIA_START on when the caller never makes a sound', async () => {
    const { transport } = await connect(plainStart('slin16', 640), { fillSilenceAfterMs: 60 });
    const frames: Int16Array[] = [];
    transport.onAudio((frame) => frames.push(frame.slice()));
    await waitFor(() => frames.length >= 5, 5000, 'silence from the start');
    expect(frames.every((frame) => frame.every((sample) => sample === 0))).toBe(true);
  });

  it('fills gaps in the inbound audio with silence', async () => {
    const { peer, transport } = await connect(plainStart('slin16', 640), { fillSilenceAfterMs: 60 });
    const frames: Int16Array[] = [];
    transport.onAudio((frame) => frames.push(frame.slice()));
    peer.sendBinary(Buffer.alloc(640, 1));
    await waitFor(() => transport.stats().silenceFilledFrames >= 5, 5000, 'filled silence');
    expect(frames[0]?.[0]).toBe(257);
    expect(frames.slice(1).every((frame) => frame.every((sample) => sample === 0))).toBe(true);
  });

  it('delivers audio that arrives right behind MEDIA_START to a listener added after connect', async () => {
    const peer = await WebSocketMediaPeer.create();
    cleanups.push(() => peer.close());
    const connecting = connectWebSocketMedia({ url: peer.url(), fillSilenceAfterMs: 0 });
    await waitFor(() => peer.socket !== undefined, 5000, 'the client');
    peer.sendText(plainStart('slin16', 640));
    for (let index = 0; index < 3; index += 1) peer.sendBinary(Buffer.alloc(640, index + 1));
    const transport = await connecting;
    cleanups.push(() => transport.close());
    const firstSamples: number[] = [];
    transport.onAudio((frame) => firstSamples.push(frame[0] as number));
    await waitFor(() => firstSamples.length === 3, 5000, 'the early frames');
    expect(firstSamples).toEqual([0x0101, 0x0202, 0x0303]);
  });

  it('rejects when Asterisk never sends MEDIA_START', async () => {
    const peer = await WebSocketMediaPeer.create();
    cleanups.push(() => peer.close());
    await expect(connectWebSocketMedia({ url: peer.url(), mediaStartTimeoutMs: 100 })).rejects.toThrow(/MEDIA_START/);
  });

  it('counts unparsable control messages and reports the close', async () => {
    const { peer, transport } = await connect(plainStart('ulaw', 160));
    const closed: string[] = [];
    transport.onClose((reason) => closed.push(reason));
    peer.sendText('{not json');
    peer.sendText('DTMF_END digit:5');
    await waitFor(() => transport.stats().controlMessages === 1 && transport.stats().malformed['unparsable-control'] === 1, 5000, 'control messages');
    peer.socket?.close(1000);
    await waitFor(() => closed.length === 1, 5000, 'close');
  });
});

describe('WebSocket media marks', () => {
  it('sends MARK_MEDIA after the last frame of an ended segment and reports Asterisk confirming it', async () => {
    const { peer, transport } = await connect(plainStart('ulaw', 160), { sendAheadMs: 100 });
    const confirmed: string[] = [];
    transport.onSegmentConfirmed((segmentId) => confirmed.push(segmentId));
    for (let index = 0; index < 3; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(500), 'sentence-1');
    transport.endSegment('sentence-1');
    await waitFor(() => peer.text.length === 1, 5000, 'the mark');
    expect(peer.binary).toHaveLength(3);
    expect(peer.text[0]).toBe('MARK_MEDIA correlation_id:sentence-1');
    peer.sendText('MEDIA_MARK_PROCESSED correlation_id:sentence-1');
    await waitFor(() => confirmed.length === 1, 5000, 'the confirmation');
    expect(confirmed).toEqual(['sentence-1']);
    expect(transport.stats()).toMatchObject({ marksSent: 1, marksProcessed: 1 });

    // Ended while most frames still wait locally: the mark follows the last one.
    for (let index = 0; index < 10; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(500), 'sentence-2');
    transport.endSegment('sentence-2');
    expect(peer.text).toHaveLength(1);
    let binaryAtMark = -1;
    await waitFor(() => {
      if (peer.text.length === 2 && binaryAtMark < 0) binaryAtMark = peer.binary.length;
      return peer.text.length === 2;
    }, 5000, 'the second mark');
    expect(peer.text[1]).toBe('MARK_MEDIA correlation_id:sentence-2');
    expect(binaryAtMark).toBe(13);
  });
});
