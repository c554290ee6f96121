/**
 * Pacing drift of the RTP output clock.
 * 1. Simulated: 10 minutes on a simulated clock (SimulatedTime) whose timers fire 0-4 ms late at
 *    random, with a 150 ms event-loop stall every 30 s. Reports packets, RTP timestamp vs
 *    elapsed media time, skipped slots and the largest burst (packets sent in one wake-up).
 * 2. Real time: one RtpTransport sending to a local socket for N seconds (default 30) on the
 *    real monotonic clock; compares packets sent and the receiver's view of the RTP timestamp
 *    with elapsed wall time.
 * Run: pnpm tsx bench/media/pacing-drift.ts [realSeconds]
 * With BENCH_JSON=<file>, also writes the figures as JSON (pacing_sim_drift_ms, pacing_real_drift_ms, ...).
 */
import { createSocket } from 'node:dgram';
import { PacingScheduler, SimulatedTime } from '../../services/pipeline-manager/src/media/pacing-scheduler.ts';
import { parseRtpPacket } from '../../services/pipeline-manager/src/media/rtp-packet.ts';
import { createRtpTransport } from '../../services/pipeline-manager/src/media/rtp-transport.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const realSeconds = Number(process.argv[2] ?? 30);

// 1. Simulated ten minutes.
{
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const time = new SimulatedTime(() => random() * 4);
  const scheduler = new PacingScheduler({ clock: time, timers: time });
  let packets = 0;
  let lastSlot = 0;
  let skipped = 0;
  let maxLateness = 0;
  let maxPerWakeup = 0;
  let currentWakeupAt = -1;
  let inWakeup = 0;
  scheduler.add((tick) => {
    packets += 1;
    lastSlot = tick.slot;
    skipped += tick.skippedSlots;
    maxLateness = Math.max(maxLateness, tick.latenessMs);
    if (time.now() === currentWakeupAt) inWakeup += 1;
    else {
      currentWakeupAt = time.now();
      inWakeup = 1;
    }
    maxPerWakeup = Math.max(maxPerWakeup, inWakeup);
  });
  const totalMs = 10 * 60 * 1000;
  for (let elapsed = 0; elapsed < totalMs; elapsed += 30_000) {
    time.advance(30_000 - 150);
    // A stall: the clock moves 150 ms with no timer able to fire.
    (time as unknown as { current: number }).current += 150;
  }
  time.advance(0);
  scheduler.stop();
  const mediaMs = lastSlot * 20;
  writeBenchJson({
    pacing_sim_minutes: totalMs / 60_000,
    pacing_sim_packets: packets,
    pacing_sim_expected_slots: totalMs / 20,
    pacing_sim_skipped_slots: skipped,
    pacing_sim_drift_ms: mediaMs - time.now(),
    pacing_sim_max_lateness_ms: maxLateness,
    pacing_sim_max_packets_per_wakeup: maxPerWakeup,
  });
  console.log('simulated 10 min (timers 0-4 ms late, 150 ms stall every 30 s):');
  console.log(`  packets sent ${packets}, slots elapsed ${lastSlot} (expected ${totalMs / 20}), skipped slots ${skipped}`);
  console.log(`  RTP media time at end ${mediaMs} ms vs clock ${time.now()} ms: drift ${(mediaMs - time.now()).toFixed(1)} ms`);
  console.log(`  largest lateness ${maxLateness.toFixed(1)} ms; most packets sent in one wake-up by one call: ${maxPerWakeup} (no catch-up burst)`);
}

// 2. Real time.
{
  const receiver = createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', () => resolve()));
  let first: { at: number; timestamp: number } | undefined;
  let last: { at: number; timestamp: number } | undefined;
  let received = 0;
  const intervals: number[] = [];
  /** Arrival time minus the packet's media time: constant if there is no drift. */
  const offsets: number[] = [];
  let firstTimestamp: number | undefined;
  receiver.on('message', (message) => {
    const packet = parseRtpPacket(message);
    if (typeof packet === 'string') return;
    const at = performance.now();
    if (last) intervals.push(at - last.at);
    last = { at, timestamp: packet.timestamp };
    firstTimestamp ??= packet.timestamp;
    offsets.push(at - (((packet.timestamp - firstTimestamp) >>> 0) / 8000) * 1000);
    first ??= last;
    received += 1;
  });
  const scheduler = new PacingScheduler();
  const transport = await createRtpTransport({ codec: 'ulaw', scheduler, idle: 'silence', remote: { address: '127.0.0.1', port: receiver.address().port } });
  await new Promise((resolve) => setTimeout(resolve, realSeconds * 1000));
  await transport.close();
  scheduler.stop();
  receiver.close();
  if (!first || !last) throw new Error('nothing received');
  const wallMs = last.at - first.at;
  const mediaMs = (((last.timestamp - first.timestamp) >>> 0) / 8000) * 1000;
  const packetMs = (received - 1) * 20;
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
  const window = Math.min(250, Math.floor(offsets.length / 4));
  const drift = median(offsets.slice(-window)) - median(offsets.slice(0, window));
  intervals.sort((a, b) => a - b);
  const p = (q: number): string => (intervals[Math.floor(q * (intervals.length - 1))] ?? NaN).toFixed(2);
  writeBenchJson({
    pacing_real_seconds: realSeconds,
    pacing_real_packets: received,
    pacing_real_drift_ms: mediaMs - wallMs,
    pacing_real_arrival_drift_ms: drift,
    pacing_real_skipped_slots: transport.stats().skippedSlots,
    pacing_real_interval_p50_ms: intervals[Math.floor(0.5 * (intervals.length - 1))],
    pacing_real_interval_p99_ms: intervals[Math.floor(0.99 * (intervals.length - 1))],
    pacing_real_interval_max_ms: intervals.at(-1),
  });
  console.log(`real time ${realSeconds} s (one RtpTransport -> local UDP socket, performance.now clock):`);
  console.log(`  packets received ${received}; RTP timestamp span ${mediaMs.toFixed(1)} ms vs receiver wall span ${wallMs.toFixed(1)} ms: drift ${(mediaMs - wallMs).toFixed(1)} ms`);
  console.log(`  drift of arrival vs RTP media time, median of the last ${window} packets minus median of the first ${window}: ${drift.toFixed(2)} ms over ${(wallMs / 1000).toFixed(0)} s`);
  console.log(`  packets x 20 ms = ${packetMs} ms (differs from the timestamp span only by skipped slots: ${transport.stats().skippedSlots})`);
  console.log(`  arrival interval p1 ${p(0.01)} / p50 ${p(0.5)} / p99 ${p(0.99)} / max ${p(1)} ms`);
}
