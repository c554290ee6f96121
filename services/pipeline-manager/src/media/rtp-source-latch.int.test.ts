import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { registerMediaMetrics } from './media-metrics.ts';
import { PacingScheduler } from './pacing-scheduler.ts';
import { createRtpTransport, type RtpTransport } from './rtp-transport.ts';
import { RtpPeer } from './testing/rtp-peer.ts';
import { waitFor } from './testing/wait-for.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// u-law: 0xff decodes to silence (0), 0x00 to the loudest negative sample.
const quiet = new Uint8Array(160).fill(0xff);
const loud = new Uint8Array(160).fill(0x00);

interface Call {
  transport: RtpTransport;
  /** Asterisk's side of the external media channel. */
  asterisk: RtpPeer;
  /** Someone else on the network who found the port. */
  stranger: RtpPeer;
  frames: Int16Array[];
}

async function call(options: { announce: boolean }): Promise<Call> {
  const scheduler = new PacingScheduler();
  cleanups.push(() => scheduler.stop());
  const transport = await createRtpTransport({ codec: 'ulaw', scheduler, idle: 'nothing', fillSilenceAfterMs: 0 });
  cleanups.push(() => transport.close());
  const asterisk = await RtpPeer.create(transport.localAddress(), 0, 160);
  cleanups.push(() => asterisk.close());
  const stranger = await RtpPeer.create(transport.localAddress(), 0, 160);
  cleanups.push(() => stranger.close());
  stranger.restart(0x0badf00d, 20_000);
  // With `announce`, the pipeline knows Asterisk's UNICASTRTP_LOCAL_ADDRESS/PORT; without, Asterisk is behind NAT.
  if (options.announce) transport.setRemote(asterisk.address());
  const frames: Int16Array[] = [];
  transport.onAudio((frame) => frames.push(frame.slice()));
  return { transport, asterisk, stranger, frames };
}

async function sendAll(peer: RtpPeer, payload: Uint8Array, count: number): Promise<void> {
  for (let index = 0; index < count; index += 1) await peer.sendRaw(peer.nextPacket(payload));
}

/** Whether a frame carries the stranger's loud audio (its middle, past the resampler's delay, is far from 0). */
const isLoud = (frame: Int16Array): boolean => Math.abs(frame[160] as number) > 10_000;

describe('RTP source latching (strictrtp)', () => {
  it('takes audio only from the first source and drops and counts packets from any other', async () => {
    const { transport, asterisk, stranger, frames } = await call({ announce: false });
    const registry = new Registry();
    registerMediaMetrics(registry);
    const before = (await registry.getSingleMetric('pipeline_manager_rtp_foreign_source_packets_total')?.get())?.values[0]?.value ?? 0;
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 3, 5000, "Asterisk's first packets");
    await sendAll(stranger, loud, 5);
    await waitFor(() => transport.stats().foreignSourcePackets === 5, 5000, "the stranger's packets");
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 6, 5000, "Asterisk's later packets");
    expect(frames.some(isLoud)).toBe(false);
    const stats = transport.stats();
    expect(stats.packetsReceived).toBe(6);
    // The stranger's SSRC neither counted as a change nor restarted the jitter buffer.
    expect(stats.ssrcChanges).toBe(0);
    expect(stats.jitterBuffer).toMatchObject({ resyncs: 0, late: 0, concealed: 0 });
    const after = (await registry.getSingleMetric('pipeline_manager_rtp_foreign_source_packets_total')?.get())?.values[0]?.value ?? 0;
    expect(after - before).toBeGreaterThanOrEqual(5);
  });

  it('replies to the latched source, not to whoever sends later', async () => {
    const { transport, asterisk, stranger } = await call({ announce: false });
    await sendAll(asterisk, quiet, 1);
    await waitFor(() => transport.stats().packetsReceived === 1, 5000, 'the first packet');
    await sendAll(stranger, loud, 2);
    await waitFor(() => transport.stats().foreignSourcePackets === 2, 5000, "the stranger's packets");
    transport.send(new Int16Array(320).fill(1000));
    await waitFor(() => asterisk.received.length === 1, 5000, 'the reply');
    expect(stranger.received).toHaveLength(0);
  });

  it('hands the call to the announced Asterisk endpoint when a stranger raced its first packet', async () => {
    const { transport, asterisk, stranger, frames } = await call({ announce: true });
    await sendAll(stranger, loud, 1);
    await waitFor(() => frames.length === 1, 5000, "the stranger's racing packet");
    await sendAll(asterisk, quiet, 3);
    await sendAll(stranger, loud, 4);
    await waitFor(() => transport.stats().foreignSourcePackets === 4, 5000, "the stranger's later packets");
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 7, 5000, "Asterisk's packets");
    expect(isLoud(frames[0] as Int16Array)).toBe(true);
    expect(frames.slice(1).some(isLoud)).toBe(false);
    const stats = transport.stats();
    expect(stats.sourceRelatches).toBe(1);
    // A new stream from the new source, not an SSRC change of the old one.
    expect(stats.ssrcChanges).toBe(0);
    expect(stats.jitterBuffer.late).toBe(0);
  });

  it("resyncs on an SSRC change of the latched source (a bridge change) while strangers' SSRCs change nothing", async () => {
    const { transport, asterisk, stranger, frames } = await call({ announce: true });
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 3, 5000, 'the first stream');
    asterisk.restart(0x55667788, 40_000);
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 6, 5000, 'the stream after the bridge change');
    for (let ssrc = 1; ssrc <= 4; ssrc += 1) {
      stranger.restart(ssrc, ssrc * 1000);
      await sendAll(stranger, loud, 2);
    }
    await waitFor(() => transport.stats().foreignSourcePackets === 8, 5000, "the stranger's packets");
    await sendAll(asterisk, quiet, 3);
    await waitFor(() => frames.length === 9, 5000, 'the rest of the stream');
    expect(frames.some(isLoud)).toBe(false);
    const stats = transport.stats();
    expect(stats.ssrcChanges).toBe(1);
    expect(stats.jitterBuffer).toMatchObject({ late: 0, concealed: 0, resyncs: 0 });
  });
});
