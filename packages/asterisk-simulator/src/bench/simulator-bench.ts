/**
 * Measures the simulator itself, so that latency benchmarks of the platform can subtract it:
 * 1. response path: caller speech ends -> RTP to the app -> app replies once no loud packet came
 *    for 1 quiet frame plus 1 frame of margin -> caller hears it (the app adds 40 ms, since a
 *    silent caller sends no RTP and silence shows only as missing packets; the rest is the simulator);
 * 2. barge-in path: caller starts interrupting -> app stops at the first loud packet -> the
 *    caller hears the audio stop;
 * 3. cost: CPU of N concurrent bridged calls with an RTP echo app, and media clock lateness.
 * Run: pnpm exec tsx packages/asterisk-simulator/src/bench/simulator-bench.ts [calls=20] [seconds=5]
 * With BENCH_JSON=<file>, also writes the figures there as one flat JSON object of numbers
 * (simulator_response_p50_ms, ...; the format of bench/lib/bench-json.ts).
 */
import { writeFileSync } from 'node:fs';
import { startAsteriskSimulator } from '../simulator.ts';
import { sineTone } from '../media/wav.ts';
import { PlainAriClient } from '../testing/plain-ari-client.ts';
import { RtpToneBot } from './rtp-tone-bot.ts';

const concurrentCalls = Number(process.argv[2] ?? 20);
const seconds = Number(process.argv[3] ?? 5);

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? Number.NaN;
}

async function withBot(options: ConstructorParameters<typeof RtpToneBot>[2], run: (simulator: Awaited<ReturnType<typeof startAsteriskSimulator>>) => Promise<void>) {
  const simulator = await startAsteriskSimulator();
  const ari = new PlainAriClient(simulator.url);
  const events = await ari.events('bench');
  const bot = new RtpToneBot(ari, 'bench', options);
  events.socket.on('message', (data) => {
    const event = JSON.parse(String(data)) as { type: string };
    if (event.type === 'StasisStart') void bot.handle(event as never);
  });
  try {
    await run(simulator);
  } finally {
    bot.close();
    events.close();
    await simulator.close();
  }
}

const response: number[] = [];
const bargeIn: number[] = [];
await withBot({ replyMs: 400, quietFramesBeforeReply: 1 }, async (simulator) => {
  for (let call = 0; call < 4; call += 1) {
    const caller = simulator.placeCall({ app: 'bench' });
    await caller.waitForAnswer();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let turn = 0; turn < 5; turn += 1) {
      await caller.play(sineTone(300, 300));
      await caller.waitForAudio();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await caller.interrupt(sineTone(350, 200));
      await caller.waitForSilence();
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    response.push(...caller.responseLatenciesMs);
    bargeIn.push(...caller.bargeInLatenciesMs);
    caller.hangup();
  }
});

let cpuPercent = 0;
let lateness = { mean: 0, max: 0, skips: 0 };
await withBot({ replyMs: 0, quietFramesBeforeReply: 1, echo: true }, async (simulator) => {
  const callers = [];
  for (let call = 0; call < concurrentCalls; call += 1) callers.push(simulator.placeCall({ app: 'bench' }));
  await Promise.all(callers.map((caller) => caller.waitForAnswer(10_000)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const clock = simulator.asterisk.clock;
  const startTicks = clock.ticks;
  const startLate = { ...clock.lateness };
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await Promise.all(callers.map((caller) => caller.play(sineTone(440, seconds * 1000))));
  const wall = performance.now() - wallBefore;
  const cpu = process.cpuUsage(cpuBefore);
  cpuPercent = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const ticks = clock.ticks - startTicks;
  lateness = { mean: (clock.lateness.total - startLate.total) / ticks, max: clock.lateness.max, skips: clock.lateness.skips - startLate.skips };
  for (const caller of callers) caller.hangup();
});

if (process.env.BENCH_JSON) {
  const figures: Record<string, number> = {
    simulator_response_samples: response.length,
    simulator_response_p50_ms: percentile(response, 0.5),
    simulator_response_p95_ms: percentile(response, 0.95),
    simulator_bargein_samples: bargeIn.length,
    simulator_bargein_p50_ms: percentile(bargeIn, 0.5),
    simulator_bargein_p95_ms: percentile(bargeIn, 0.95),
    simulator_concurrent_calls: concurrentCalls,
    simulator_cpu_pct: cpuPercent,
    simulator_cpu_pct_per_call: cpuPercent / concurrentCalls,
    simulator_clock_lateness_mean_ms: lateness.mean,
    simulator_clock_lateness_max_ms: lateness.max,
    simulator_clock_skips: lateness.skips,
  };
  const flat = Object.fromEntries(Object.entries(figures).map(([key, value]) => [key, Number.isFinite(value) ? Math.round(value * 1000) / 1000 : null]));
  writeFileSync(process.env.BENCH_JSON, `${JSON.stringify(flat, null, 2)}\n`);
}

const format = (value: number) => value.toFixed(1);
process.stdout.write(
  [
    `response path (app replies 40 ms after the last loud packet): n=${response.length} p50=${format(percentile(response, 0.5))} ms p95=${format(percentile(response, 0.95))} ms`,
    `barge-in path (app stops at first loud packet): n=${bargeIn.length} p50=${format(percentile(bargeIn, 0.5))} ms p95=${format(percentile(bargeIn, 0.95))} ms`,
    `${concurrentCalls} concurrent calls with RTP echo app (same process), ${seconds} s: CPU ${format(cpuPercent)} % of one core (${format(cpuPercent / concurrentCalls)} % per call)`,
    `media clock lateness: mean ${format(lateness.mean)} ms, max ${format(lateness.max)} ms, stalls skipped ${lateness.skips}`,
  ].join('\n') + '\n',
);
