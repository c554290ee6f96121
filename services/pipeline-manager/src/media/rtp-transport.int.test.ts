import alawmulaw from 'alawmulaw';
import { afterEach, describe, expect, it } from 'vitest';
import { FRAME_SAMPLES } from './audio-format.ts';
import { codecInfo, type MediaCodecName } from './g711.ts';
import { PacingScheduler, SimulatedTime } from './pacing-scheduler.ts';
import { createRtpTransport, type RtpTransport } from './rtp-transport.ts';
import { SpeexResampler } from './speex-resampler.ts';
import { RtpPeer } from './testing/rtp-peer.ts';
import { concatSamples, sineWave, whiteNoise } from './testing/signals.ts';
import { waitFor } from './testing/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(codec: MediaCodecName, options: { idle?: 'silence' | 'nothing'; fillSilenceAfterMs?: number } = {}): Promise<{ transport: RtpTransport; peer: RtpPeer; frames: Int16Array[]; times: number[] }> {
  const scheduler = new PacingScheduler();
  cleanups.push(() => scheduler.stop());
  // Silence filling is off unless a test is about it, so frame counts stay exact.
  const transport = await createRtpTransport({ codec, scheduler, idle: options.idle ?? 'nothing', fillSilenceAfterMs: options.fillSilenceAfterMs ?? 0 });
  cleanups.push(() => transport.close());
  const info = codecInfo[codec];
  const peer = await RtpPeer.create(transport.localAddress(), info.rtpPayloadType, (info.sampleRate * 20) / 1000);
  cleanups.push(() => peer.close());
  transport.setRemote(peer.address());
  const frames: Int16Array[] = [];
  const times: number[] = [];
  transport.onAudio((frame, mediaTimeMs) => {
    frames.push(frame.slice());
    times.push(mediaTimeMs);
  });
  return { transport, peer, frames, times };
}

/** Speech-like test signal: two tones and a little noise. */
function testSignal(sampleRate: number, samples: number): Int16Array {
  const a = sineWave(350, sampleRate, samples, 6000);
  const b = sineWave(1270, sampleRate, samples, 3000);
  const noise = whiteNoise(samples, 500);
  return a.map((value, index) => value + (b[index] as number) + (noise[index] as number));
}

function encodeWire(codec: MediaCodecName, samples: Int16Array): Uint8Array {
  if (codec === 'ulaw') return alawmulaw.mulaw.encode(samples);
  if (codec === 'alaw') return alawmulaw.alaw.encode(samples);
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((sample, index) => view.setInt16(index * 2, sample, false));
  return bytes;
}

function decodeWire(codec: MediaCodecName, bytes: Uint8Array): Int16Array {
  if (codec === 'ulaw') return alawmulaw.mulaw.decode(bytes);
  if (codec === 'alaw') return alawmulaw.alaw.decode(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int16Array.from({ length: bytes.length / 2 }, (_, index) => view.getInt16(index * 2, false));
}

describe.each(['ulaw', 'alaw', 'slin16'] as const)('RTP transport (%s)', (codec) => {
  const info = codecInfo[codec];
  const samplesPerPacket = (info.sampleRate * 20) / 1000;

  it('decodes received packets sample-accurately into 16 kHz frames with media times', async () => {
    const { peer, frames, times } = await setup(codec);
    const packets = 25;
    const signal = testSignal(info.sampleRate, packets * samplesPerPacket);
    const wire = encodeWire(codec, signal);
    for (let index = 0; index < packets; index += 1) {
      await peer.sendRaw(peer.nextPacket(wire.subarray(index * info.bytesPerFrame, (index + 1) * info.bytesPerFrame)));
    }
    await waitFor(() => frames.length === packets, 5000, 'all frames');
    // Reference: the library's decode, then a fresh resampler fed the same 20 ms blocks.
    const decoded = decodeWire(codec, wire);
    let expected = decoded;
    if (codec !== 'slin16') {
      const reference = await SpeexResampler.create(8000, 16_000);
      const blocks: Int16Array[] = [];
      for (let index = 0; index < packets; index += 1) {
        const out = new Int16Array(FRAME_SAMPLES);
        reference.process(decoded.subarray(index * 160, (index + 1) * 160), out);
        blocks.push(out);
      }
      reference.destroy();
      expected = concatSamples(blocks);
    }
    expect(Array.from(concatSamples(frames))).toEqual(Array.from(expected));
    expect(times).toEqual(Array.from({ length: packets }, (_, index) => index * 20));
  });

  it('sends queued frames as paced packets that decode to exactly what was sent', async () => {
    const { transport, peer } = await setup(codec);
    const packets = 15;
    const signal = testSignal(16_000, packets * FRAME_SAMPLES);
    for (let index = 0; index < packets; index += 1) transport.send(signal.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES), 'greeting');
    await waitFor(() => peer.received.length === packets, 5000, 'all packets');
    const received = peer.received;
    expect(received.every((packet) => packet.payloadType === info.rtpPayloadType && packet.payload.length === info.bytesPerFrame)).toBe(true);
    expect(received[0]?.marker).toBe(true);
    expect(received.slice(1).some((packet) => packet.marker)).toBe(false);
    let skippedSlots = 0;
    for (let index = 1; index < packets; index += 1) {
      const previous = received[index - 1] as (typeof received)[number];
      const current = received[index] as (typeof received)[number];
      expect((current.sequenceNumber - previous.sequenceNumber) & 0xffff).toBe(1);
      // One packet per slot; a slot skipped after a process stall shows as a timestamp jump.
      const step = (current.timestamp - previous.timestamp) >>> 0;
      expect(step % samplesPerPacket).toBe(0);
      expect(step).toBeGreaterThan(0);
      skippedSlots += step / samplesPerPacket - 1;
      expect(current.ssrc).toBe(previous.ssrc);
    }
    expect(skippedSlots).toBeLessThanOrEqual(transport.stats().skippedSlots);
    let expected = signal;
    if (codec !== 'slin16') {
      const reference = await SpeexResampler.create(16_000, 8000);
      const blocks: Int16Array[] = [];
      for (let index = 0; index < packets; index += 1) {
        const out = new Int16Array(160);
        reference.process(signal.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES), out);
        blocks.push(out);
      }
      reference.destroy();
      expected = concatSamples(blocks);
    }
    const sentBytes = Buffer.concat(received.map((packet) => packet.payload));
    expect(sentBytes.equals(Buffer.from(encodeWire(codec, expected)))).toBe(true);
    expect(transport.stats().framesSent).toBe(packets);
  });
});

describe('RTP transport receive path', () => {
  it('reorders packets, conceals a lost one with silence and counts both', async () => {
    const { transport, peer, frames } = await setup('slin16');
    const signal = sineWave(500, 16_000, 10 * FRAME_SAMPLES, 8000);
    const wire = encodeWire('slin16', signal);
    const packets = Array.from({ length: 10 }, (_, index) => peer.nextPacket(wire.subarray(index * 640, (index + 1) * 640)));
    // Arrival order: 0 2 1 3 5 6 7 8 9 (4 is lost, 1 and 2 swapped).
    for (const index of [0, 2, 1, 3, 5, 6, 7, 8, 9]) await peer.sendRaw(packets[index] as Uint8Array);
    await waitFor(() => frames.length === 10, 5000, 'ten frames');
    for (let index = 0; index < 10; index += 1) {
      const expected = index === 4 ? new Int16Array(FRAME_SAMPLES) : signal.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES);
      expect(Array.from(frames[index] as Int16Array), `frame ${index}`).toEqual(Array.from(expected));
    }
    const stats = transport.stats();
    expect(stats.concealedFrames).toBe(1);
    expect(stats.jitterBuffer.reordered).toBe(1);
    expect(stats.jitterBuffer.concealed).toBe(1);
  });

  it('releases held packets when the stream pauses', async () => {
    const { peer, frames } = await setup('ulaw');
    const payload = new Uint8Array(160).fill(0x80);
    const packets = Array.from({ length: 3 }, () => peer.nextPacket(payload));
    await peer.sendRaw(packets[0] as Uint8Array);
    await peer.sendRaw(packets[2] as Uint8Array);
    await waitFor(() => frames.length === 3, 5000, 'the held packet after the gap');
  });

  it('counts and ignores malformed packets without disturbing the stream', async () => {
    const { transport, peer, frames } = await setup('slin16');
    const payload = new Uint8Array(640).fill(1);
    const garbage = [new Uint8Array(3), new Uint8Array(40).fill(0x40), peer.nextPacket(new Uint8Array(7)), new Uint8Array(12).fill(0x8f)];
    await peer.sendRaw(peer.nextPacket(payload));
    for (const datagram of garbage) await peer.sendRaw(datagram);
    // The odd-length packet consumed a sequence number; send the rest in order after it.
    await peer.sendRaw(peer.nextPacket(payload));
    await waitFor(() => frames.length >= 2 && transport.stats().packetsReceived === 2, 5000, 'the valid packets');
    expect(transport.stats().malformed).toEqual({ 'too-short': 1, 'bad-version': 1, 'odd-length': 1, 'bad-csrc-count': 1 });
  });

  it('restarts the jitter buffer when the SSRC changes', async () => {
    const { transport, peer, frames } = await setup('ulaw');
    const payload = new Uint8Array(160).fill(0xff);
    for (let index = 0; index < 3; index += 1) await peer.sendRaw(peer.nextPacket(payload));
    peer.restart(0x55667788, 40_000);
    for (let index = 0; index < 3; index += 1) await peer.sendRaw(peer.nextPacket(payload));
    await waitFor(() => frames.length === 6, 5000, 'six frames');
    expect(transport.stats().ssrcChanges).toBe(1);
    expect(transport.stats().jitterBuffer.late).toBe(0);
  });
});

describe('RTP transport pacing on simulated time', () => {
  it('sends exactly one packet per 20 ms slot and no burst after a stall', async () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    cleanups.push(() => scheduler.stop());
    const receiver = await RtpPeer.create({ address: '127.0.0.1', port: 9 }, 0, 160);
    cleanups.push(() => receiver.close());
    const transport = await createRtpTransport({ codec: 'ulaw', scheduler, clock: time, remote: receiver.address(), fillSilenceAfterMs: 0 });
    cleanups.push(() => transport.close());
    // Real ticks are separate macrotasks; let each simulated one finish its socket send.
    const advance = async (ms: number): Promise<void> => {
      for (let step = 0; step < ms; step += 10) {
        time.advance(10);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await advance(1000);
    expect(transport.stats().packetsSent).toBe(50);
    // The event loop is blocked for 200 ms: afterwards one packet, not eleven.
    (time as unknown as { current: number }).current += 200;
    time.advance(0);
    expect(transport.stats().packetsSent).toBe(51);
    expect(transport.stats().skippedSlots).toBe(9);
    await advance(1000);
    expect(transport.stats().packetsSent).toBe(101);
    await waitFor(() => receiver.received.length === 101, 5000, 'all packets');
    const timestamps = receiver.received.map((packet) => packet.timestamp);
    // Timestamps follow the clock: the stall shows as one jump of ten slots.
    const steps = timestamps.slice(1).map((timestamp, index) => ((timestamp - (timestamps[index] as number)) >>> 0) / 160);
    expect(steps.filter((step) => step !== 1)).toEqual([10]);
  });
  it('sends the first frame of a talkspurt at once with the marker bit, and the rest 20 ms after it with contiguous timestamps', async () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    cleanups.push(() => scheduler.stop());
    const receiver = await RtpPeer.create({ address: '127.0.0.1', port: 9 }, 0, 160);
    cleanups.push(() => receiver.close());
    const sent: Array<{ sentAtMs: number; silence: boolean }> = [];
    const transport = await createRtpTransport({ codec: 'ulaw', scheduler, clock: time, remote: receiver.address(), fillSilenceAfterMs: 0, onPacketSent: (packet) => sent.push(packet) });
    cleanups.push(() => transport.close());
    const advance = async (ms: number): Promise<void> => {
      for (let step = 0; step < ms; step += 1) {
        time.advance(1);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await advance(107);
    const silentBefore = sent.length;
    const lastSilenceAt = (sent.at(-1) as { sentAtMs: number }).sentAtMs;
    const tone = sineWave(800, 16_000, FRAME_SAMPLES * 3, 12_000);
    for (let index = 0; index < 3; index += 1) transport.send(tone.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES), 'answer');
    // On the wire before any timer ran, mid-slot.
    expect(sent.length).toBe(silentBefore + 1);
    expect(sent.at(-1)).toMatchObject({ sentAtMs: 107, silence: false });
    expect(lastSilenceAt).toBeLessThan(107);
    await advance(200);
    const audio = sent.slice(silentBefore, silentBefore + 3);
    expect(audio.map((packet) => [Math.ceil(packet.sentAtMs), packet.silence])).toEqual([
      [107, false],
      [127, false],
      [147, false],
    ]);
    await waitFor(() => receiver.received.length === sent.length, 5000, 'all packets');
    const packets = receiver.received;
    expect(packets.map((packet) => packet.marker)).toEqual(packets.map((_, index) => index === silentBefore));
    const steps = packets.slice(1).map((packet, index) => ((packet.timestamp - (packets[index] as { timestamp: number }).timestamp) >>> 0) / 160);
    expect(steps.every((step) => step === 1)).toBe(true);
    // Idle again, the call went back to its own phase: silence every 20 ms on the old grid.
    const silenceAfter = sent.slice(silentBefore + 3).map((packet) => Math.ceil(packet.sentAtMs) % 20);
    expect(new Set(silenceAfter.slice(1))).toEqual(new Set([Math.ceil(lastSilenceAt) % 20]));
  });

  it('waits for the next slot when told to (sendTalkspurtStartAtOnce: false)', async () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    cleanups.push(() => scheduler.stop());
    const receiver = await RtpPeer.create({ address: '127.0.0.1', port: 9 }, 0, 160);
    cleanups.push(() => receiver.close());
    const sent: Array<{ sentAtMs: number; silence: boolean }> = [];
    const transport = await createRtpTransport({ codec: 'ulaw', scheduler, clock: time, remote: receiver.address(), fillSilenceAfterMs: 0, idle: 'nothing', sendTalkspurtStartAtOnce: false, onPacketSent: (packet) => sent.push(packet) });
    cleanups.push(() => transport.close());
    time.advance(107);
    transport.send(new Int16Array(FRAME_SAMPLES).fill(1000), 'answer');
    expect(sent).toEqual([]);
    time.advance(20);
    expect(sent.map((packet) => Math.ceil(packet.sentAtMs))).toEqual([120]);
  });
});

describe('RTP transport inbound gaps', () => {
  it('feeds silence from the start when the caller never makes a sound (Asterisk sends no RTP at all)', async () => {
    const { transport, frames, times } = await setup('ulaw', { fillSilenceAfterMs: 100 });
    await waitFor(() => frames.length >= 10, 5000, 'silence from the start');
    expect(frames.every((frame) => frame.every((sample) => sample === 0))).toBe(true);
    expect(times.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, index) => index * 20));
    expect(transport.stats().silenceFilledFrames).toBeGreaterThanOrEqual(10);
  });

  it('feeds silence in real time while Asterisk sends nothing, and real audio again when it resumes', async () => {
    const { transport, peer, frames, times } = await setup('slin16', { fillSilenceAfterMs: 100 });
    const loud = encodeWire('slin16', new Int16Array(FRAME_SAMPLES).fill(1000));
    await peer.sendRaw(peer.nextPacket(loud));
    await waitFor(() => transport.stats().silenceFilledFrames >= 10, 5000, 'filled silence');
    const filled = frames.length;
    expect(frames.slice(1).every((frame) => frame.every((sample) => sample === 0))).toBe(true);
    await peer.sendRaw(peer.nextPacket(loud));
    await waitFor(() => frames.some((frame, index) => index >= filled && frame[0] === 1000), 5000, 'audio after the gap');
    // Media time kept running through the gap.
    expect(times).toEqual(Array.from({ length: times.length }, (_, index) => index * 20));
    expect(transport.stats().jitterBuffer.concealed).toBe(0);
  });
  it('drops audio that arrives after silence was filled in for it, and keeps a new talkspurt after a pause', async () => {
    const time = new SimulatedTime();
    const scheduler = new PacingScheduler({ clock: time, timers: time });
    cleanups.push(() => scheduler.stop());
    const transport = await createRtpTransport({ codec: 'slin16', scheduler, clock: time, idle: 'nothing' });
    cleanups.push(() => transport.close());
    const peer = await RtpPeer.create(transport.localAddress(), codecInfo.slin16.rtpPayloadType, 320);
    cleanups.push(() => peer.close());
    transport.setRemote(peer.address());
    const frames: number[] = [];
    transport.onAudio((frame) => frames.push(frame[0] as number));
    const loud = (level: number): Uint8Array => encodeWire('slin16', new Int16Array(FRAME_SAMPLES).fill(level));
    const arrive = async (packet: Uint8Array): Promise<void> => {
      const before = transport.stats().packetsReceived;
      await peer.sendRaw(packet);
      await waitFor(() => transport.stats().packetsReceived === before + 1, 5000, 'the packet');
    };
    await arrive(peer.nextPacket(loud(1000)));
    // Nothing for 80 ms: from 60 ms on (the default), three frames of silence were filled in.
    time.advance(81);
    expect(frames).toEqual([1000, 0, 0, 0]);
    // The stream was only late: packets 2-4 fall in the filled time, the fifth is new.
    for (const level of [2000, 3000, 4000, 5000]) await arrive(peer.nextPacket(loud(level)));
    expect(frames).toEqual([1000, 0, 0, 0, 5000]);
    expect(transport.stats().lateAfterFillFrames).toBe(3);
    // A real pause at the sender (its timestamp jumps): silence filled, then every frame of the new talkspurt.
    time.advance(100);
    peer.pause(5);
    for (const level of [6000, 7000]) await arrive(peer.nextPacket(loud(level)));
    expect(frames.slice(5)).toEqual([0, 0, 0, 0, 6000, 7000]);
    expect(transport.stats().lateAfterFillFrames).toBe(3);
    expect(transport.stats().jitterBuffer.concealed).toBe(0);
  });
});

describe('RTP transport interruption', () => {
  it('stops audio at the next packet and reports exactly how much of each segment was played', async () => {
    const { transport, peer } = await setup('ulaw', { idle: 'silence' });
    const tone = sineWave(800, 16_000, FRAME_SAMPLES * 50, 12_000);
    for (let index = 0; index < 50; index += 1) transport.send(tone.subarray(index * FRAME_SAMPLES, (index + 1) * FRAME_SAMPLES), 'answer-1');
    await waitFor(() => transport.stats().framesSent >= 5, 5000, 'some audio out');
    const sentBefore = transport.stats().packetsSent;
    const report = transport.interrupt();
    const sentAtInterrupt = transport.stats().framesSent;
    expect(report).toEqual([{ segmentId: 'answer-1', playedMs: sentAtInterrupt * 20, droppedMs: (50 - sentAtInterrupt) * 20, complete: true }]);
    await waitFor(() => peer.received.length >= sentBefore + 3, 5000, 'packets after the interruption');
    const isSilence = (payload: Uint8Array): boolean => payload.every((byte) => byte === 0xff);
    const audio = peer.received.filter((packet) => !isSilence(packet.payload));
    expect(audio.length * 20).toBe(report[0]?.playedMs);
    // Everything after the interruption point is silence: output stopped within one frame.
    const firstAfter = peer.received.findIndex((packet, index) => index >= sentBefore);
    expect(peer.received.slice(firstAfter).every((packet) => isSilence(packet.payload))).toBe(true);
    expect(transport.stats().framesSent).toBe(sentAtInterrupt);
  });

  it('reports segments that play to the end', async () => {
    const { transport } = await setup('alaw');
    const played: unknown[] = [];
    transport.onSegmentPlayed((playout) => played.push(playout));
    for (let index = 0; index < 3; index += 1) transport.send(new Int16Array(FRAME_SAMPLES).fill(1000), 'short');
    transport.endSegment('short');
    await waitFor(() => played.length === 1, 5000, 'segment end');
    expect(played).toEqual([{ segmentId: 'short', playedMs: 60, droppedMs: 0, complete: true }]);
  });
});
