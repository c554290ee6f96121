/**
 * How many concurrent calls one Node process (one core for JavaScript) carries while RTP send
 * jitter stays p99 < 2 ms. Each simulated call is a real RtpTransport (u-law) on 127.0.0.1:
 * a peer process sends it 50 packets/s of speech; the call decodes, resamples to 16 kHz, runs
 * the VAD, and echoes every frame back out (resample, encode, paced send), so both directions
 * are busy all the time. Send jitter = |interval between a call's consecutive packets - 20 ms|.
 * Silero runs batched in its worker thread (the engine's default), so "cpu %" counts both threads
 * and "loop util %" is the event loop alone.
 *
 * Two honest measures beside it (issue 15): "cpu us per call-frame" is the CPU time (both
 * threads) the process spent per call per 20 ms frame of this full media path, and
 * "calls/core (cpu)" = 20 000 us / that, the calls one core's CPU time would carry at 100 %
 * (no headroom; not a jitter claim). "rx jitter p99 ms" is measured where Asterisk would
 * receive: |interval between a call's packets arriving at the peer process - 20 ms|, next to
 * "bare timer p99 ms", a plain 20 ms timer loop in its own process during the same step (the
 * machine's noise floor; on a shared machine a pass/fail against a fixed 2 ms bound depends on
 * the neighbours more than on this code, hence the ratio).
 * The echo keeps every call's output queue at zero or one frame, so each transport is told
 * to keep its fixed 20 ms phase (`sendTalkspurtStartAtOnce: false`): otherwise an echo frame
 * that misses its slot by a hair would count as a new talkspurt and be sent at once, which
 * measures the echo, not the clock.
 * Run: pnpm tsx bench/media/concurrent-calls.ts [vad=webrtc|silero|silero-inline|energy|none] [calls=50,100,200,300,400] [seconds=6]
 * (positional: e.g. `concurrent-calls.ts silero 100,200 4`). With BENCH_JSON=<file>, also writes
 * every numeric column of every step as JSON (calls_<N>_jitter_p99_ms, calls_<N>_cpu_pct, ...).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { FRAME_SAMPLES } from '../../services/pipeline-manager/src/media/audio-format.ts';
import { g711Codec } from '../../services/pipeline-manager/src/media/g711.ts';
import { PacingScheduler } from '../../services/pipeline-manager/src/media/pacing-scheduler.ts';
import { createRtpTransport, type RtpTransport } from '../../services/pipeline-manager/src/media/rtp-transport.ts';
import { SpeexResampler } from '../../services/pipeline-manager/src/media/speex-resampler.ts';
import { readPcmWav } from '../../services/pipeline-manager/src/media/testing/wav.ts';
import { sharedSileroBatcher } from '../../services/pipeline-manager/src/media/vad/silero-batcher.ts';
import { createVoiceActivityDetector, type VoiceActivityDetector } from '../../services/pipeline-manager/src/media/vad/voice-activity-detector.ts';
import { writeBenchJson } from '../lib/bench-json.ts';

const vadArgument = process.argv[2] ?? 'webrtc';
const vadEngine = (vadArgument === 'silero-inline' ? 'silero' : vadArgument) as 'webrtc' | 'silero' | 'energy' | 'none';
const sileroRuntime = vadArgument === 'silero-inline' ? 'inline' : 'worker';
const steps = (process.argv[3] ?? '50,100,200,300,400').split(',').map(Number);
const seconds = Number(process.argv[4] ?? 6);
const warmupMs = 1000;

// u-law speech for the peer to send.
const speech = readPcmWav(fileURLToPath(new URL('../../services/pipeline-manager/src/media/fixtures/speech-16k.wav', import.meta.url)));
const down = await SpeexResampler.create(16_000, 8000, 10);
const narrow = new Int16Array(Math.floor(speech.samples.length / 2));
for (let offset = 0; offset + FRAME_SAMPLES <= speech.samples.length; offset += FRAME_SAMPLES) {
  down.process(speech.samples.subarray(offset, offset + FRAME_SAMPLES), narrow.subarray(offset / 2, offset / 2 + 160));
}
const ulaw = new Uint8Array(narrow.length);
g711Codec('ulaw').encode(narrow, ulaw);
const payloadFile = join(tmpdir(), `media-bench-speech-${process.pid}.ulaw`);
writeFileSync(payloadFile, ulaw);

/** Microseconds some task on this machine waited for a CPU (Linux PSI), or undefined. */
function cpuPressureMicros(): number | undefined {
  try {
    const match = /some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function percentile(values: Float64Array, count: number, p: number): number {
  const sorted = Float64Array.from(values.subarray(0, count)).sort();
  return sorted[Math.min(count - 1, Math.floor((p / 100) * count))] ?? Number.NaN;
}

async function runStep(calls: number): Promise<Record<string, number | string>> {
  const scheduler = new PacingScheduler();
  const transports: RtpTransport[] = [];
  const detectors: VoiceActivityDetector[] = [];
  const capacity = calls * Math.ceil((seconds * 1000) / 20) + 1000;
  const jitter = new Float64Array(capacity);
  const lateness = new Float64Array(capacity);
  let samples = 0;
  let measuring = false;
  let vadEvents = 0;
  for (let call = 0; call < calls; call += 1) {
    let lastSent = -1;
    const transport = await createRtpTransport({
      codec: 'ulaw',
      scheduler,
      idle: 'silence',
      sendTalkspurtStartAtOnce: false,
      onPacketSent: ({ sentAtMs, idealMs }) => {
        if (measuring && lastSent >= 0 && samples < capacity) {
          jitter[samples] = Math.abs(sentAtMs - lastSent - 20);
          lateness[samples] = sentAtMs - idealMs;
          samples += 1;
        }
        lastSent = sentAtMs;
      },
    });
    transports.push(transport);
    const detector = vadEngine === 'none' ? undefined : await createVoiceActivityDetector({ engine: vadEngine, sileroRuntime });
    if (detector) detectors.push(detector);
    transport.onAudio((frame) => {
      if (detector) {
        if (detector.engine === 'silero') {
          void detector.process(frame).then(
            (events) => {
              vadEvents += events.length;
            },
            () => undefined, // windows still queued when the batcher closes at the end
          );
        } else {
          vadEvents += detector.processSync(frame).length;
        }
      }
      transport.send(frame, 'echo');
    });
  }
  const config = join(tmpdir(), `media-bench-peer-${process.pid}.json`);
  writeFileSync(config, JSON.stringify({ ports: transports.map((transport) => transport.localAddress().port), seconds: seconds + warmupMs / 1000, warmupSeconds: warmupMs / 1000, payloadFile }));
  const peer = spawn(process.execPath, [fileURLToPath(new URL('./rtp-load-peer.mjs', import.meta.url)), config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let peerOutput = '';
  peer.stdout.on('data', (chunk: Buffer) => {
    peerOutput += chunk.toString();
  });
  const peerDone = new Promise<void>((resolve) => peer.on('exit', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  // The machine's noise floor during this step: a bare timer loop in its own process.
  const probe = spawn(process.execPath, [fileURLToPath(new URL('./timer-probe.mjs', import.meta.url)), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let probeOutput = '';
  probe.stdout.on('data', (chunk: Buffer) => {
    probeOutput += chunk.toString();
  });
  const probeDone = new Promise<void>((resolve) => probe.on('exit', () => resolve()));
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const elu = performance.eventLoopUtilization();
  const cpuStart = process.cpuUsage();
  const pressureStart = cpuPressureMicros();
  const wallStart = performance.now();
  const receivedStart = transports.reduce((sum, transport) => sum + transport.stats().packetsReceived, 0);
  measuring = true;
  await peerDone;
  measuring = false;
  await probeDone;
  const floor = JSON.parse(probeOutput.trim() || '{}') as { p99?: number };
  const wallMs = performance.now() - wallStart;
  const pressureEnd = cpuPressureMicros();
  const pressure = pressureStart !== undefined && pressureEnd !== undefined ? (((pressureEnd - pressureStart) / 1000 / wallMs) * 100).toFixed(0) : '?';
  const cpu = process.cpuUsage(cpuStart);
  const utilisation = performance.eventLoopUtilization(elu);
  loopDelay.disable();
  const received = transports.reduce((sum, transport) => sum + transport.stats().packetsReceived, 0) - receivedStart;
  const skipped = transports.reduce((sum, transport) => sum + transport.stats().skippedSlots, 0);
  const concealed = transports.reduce((sum, transport) => sum + transport.stats().concealedFrames, 0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (const transport of transports) await transport.close();
  for (const detector of detectors) detector.dispose();
  scheduler.stop();
  const peerResult = JSON.parse(peerOutput.trim() || '{}') as { sent?: number; received?: number; rxJitterP99?: number | null };
  const cpuMicrosPerCallFrame = received > 0 ? (cpu.user + cpu.system) / received : Number.NaN;
  return {
    calls,
    'load avg': loadavg()[0]?.toFixed(2) ?? '?',
    'cpu pressure %': pressure,
    'cpu %': (((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(1),
    'loop util %': (utilisation.utilization * 100).toFixed(1),
    'jitter p50 ms': percentile(jitter, samples, 50).toFixed(3),
    'jitter p99 ms': percentile(jitter, samples, 99).toFixed(3),
    'jitter max ms': percentile(jitter, samples, 100).toFixed(2),
    'rx jitter p99 ms': typeof peerResult.rxJitterP99 === 'number' ? peerResult.rxJitterP99.toFixed(3) : '?',
    'bare timer p99 ms': floor.p99?.toFixed(3) ?? '?',
    'cpu us per call-frame': cpuMicrosPerCallFrame.toFixed(1),
    'calls/core (cpu)': Math.floor(20_000 / cpuMicrosPerCallFrame),
    'lateness p99 ms': percentile(lateness, samples, 99).toFixed(3),
    'sends measured': samples,
    'skipped slots': skipped,
    'rx pkts/s': Math.round((received / wallMs) * 1000),
    'expected rx/s': calls * 50,
    concealed,
    'peer sent/recv': `${peerResult.sent ?? '?'}/${peerResult.received ?? '?'}`,
    'vad events': vadEvents,
    'silero batch avg': sharedSileroBatcher().batches > 0 ? (sharedSileroBatcher().windows / sharedSileroBatcher().batches).toFixed(1) : '-',
  };
}

console.log(`VAD ${vadArgument}; ${seconds} s measured per step after ${warmupMs} ms warm-up; node ${process.version}; ${(await import('node:os')).cpus().length} CPUs (shared)`);
const rows: Array<Record<string, number | string>> = [];
for (const calls of steps) {
  const row = await runStep(calls);
  rows.push(row);
  console.log(JSON.stringify(row));
  writeBenchJson(
    Object.fromEntries(
      Object.entries(row)
        .filter(([name, value]) => name !== 'calls' && (typeof value === 'number' || /^-?[\d.]+$/.test(value)))
        .map(([name, value]) => [`calls_${calls}_${name.replace(/%/g, 'pct').replace(/\//g, '_per_').replace(/[^a-z0-9]+/gi, '_').replace(/_+$/, '')}`, Number(value)]),
    ),
  );
}
console.table(rows);
const passing = rows.filter((row) => Number(row['jitter p99 ms']) < 2 && Number(row['cpu %']) < 100);
console.log('"cpu pressure %" is the share of the step during which some task on the machine waited for a CPU (/proc/pressure/cpu).');
console.log('"bare timer p99" is a plain 20 ms setTimeout loop in its own process during the same step: the noise floor of this shared machine.');
writeBenchJson({
  media_cpus: (await import('node:os')).cpus().length,
  media_step_seconds: seconds,
  media_largest_passing_calls: passing.length > 0 ? Math.max(...passing.map((row) => Number(row.calls))) : null,
});
console.log(`largest step with send jitter p99 < 2 ms and CPU < 100 %: ${passing.length > 0 ? Math.max(...passing.map((row) => Number(row.calls))) : 'none'} calls`);
// The shared Silero batcher's worker keeps a message port open: close it so the process ends.
await sharedSileroBatcher().close();
