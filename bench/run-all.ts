/**
 * Runs every benchmark of the project, one after the other (each in its own child process,
 * so they do not disturb each other), and writes `bench/REPORT.md` (figures, machine, command,
 * each benchmark's printed output) and `bench/report.json` (one flat object of numbers).
 *
 *   pnpm bench                       # everything, full length (about 4 minutes)
 *   pnpm bench --quick               # shorter runs of everything (about 2 minutes)
 *   pnpm bench --only=caller,overhead   # some benchmarks (the others' figures are null)
 *   pnpm bench --skip=rest           # all but some
 *   pnpm bench --list                # the benchmark ids
 *   pnpm bench --out=/tmp/bench      # write REPORT.md and report.json elsewhere
 *
 * Each benchmark writes its figures to the JSON file named by BENCH_JSON (bench/lib/bench-json.ts);
 * its printed output is copied to the report unchanged. A benchmark that fails is reported as
 * failed and its figures are null: nothing is made up.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

type Figures = Record<string, number | null>;

interface Benchmark {
  id: string;
  title: string;
  /** Script path from the repository root. */
  script: string;
  args: string[];
  quickArgs: string[];
  env?: Record<string, string>;
  quickEnv?: Record<string, string>;
  /** Prefix for this benchmark's keys in report.json (when its own keys are not unique). */
  prefix?: string;
  /** Not run with --quick. */
  fullOnly?: boolean;
  about: string;
}

const benchmarks: Benchmark[] = [
  {
    id: 'rest',
    title: 'ai-manager: REST throughput',
    script: 'bench/ai-manager/ais.ts',
    args: [],
    quickArgs: [],
    env: { BENCH_SECONDS: '10', BENCH_CONNECTIONS: '16' },
    quickEnv: { BENCH_SECONDS: '3', BENCH_CONNECTIONS: '16' },
    about:
      'GET /v1.0/ais/{id} and POST /v1.0/ais against ai-manager on PostgreSQL (its own database, in-process bus, rate limit off), ' +
      'closed loop with 16 keep-alive connections from a separate process. Needs the PostgreSQL of DATABASE_URL_ADMIN.',
  },
  {
    id: 'resampler',
    title: 'media: resampler quality',
    script: 'bench/media/resampler-quality.ts',
    args: [],
    quickArgs: [],
    about:
      '8 -> 16 -> 8 kHz round trip on the speech fixture (SNR at the best alignment), alias rejection of 16 -> 8 kHz on a 4.2-7.8 kHz sweep, ' +
      'image rejection of 8 -> 16 kHz, passband level, per speex quality (the engine uses quality 6).',
  },
  {
    id: 'frame-cost',
    title: 'media: CPU per 20 ms frame',
    script: 'bench/media/frame-cost.ts',
    args: ['5000'],
    quickArgs: ['2000'],
    about: 'CPU microseconds per 20 ms frame of each stage and of the whole per-call media path (decode, resample, VAD, resample, encode), per VAD engine.',
  },
  {
    id: 'calls-silero',
    title: 'media: concurrent calls per core, Silero VAD (the default)',
    script: 'bench/media/concurrent-calls.ts',
    args: ['silero', '50,100,200,300,400', '6'],
    quickArgs: ['silero', '100,200', '3'],
    prefix: 'media_silero_',
    about:
      'N real RTP transports in one process, each receiving 50 packets/s of u-law speech from a peer process, running the VAD and echoing every frame back ' +
      '(decode, resample, VAD, resample, encode, paced send). Send jitter = |interval between a call\'s consecutive packets - 20 ms|. ' +
      'Silero runs batched in its worker thread, so "cpu %" counts both threads.',
  },
  {
    id: 'calls-webrtc',
    title: 'media: concurrent calls per core, WebRTC VAD',
    script: 'bench/media/concurrent-calls.ts',
    args: ['webrtc', '50,100,200,300,400', '6'],
    quickArgs: [],
    prefix: 'media_webrtc_',
    fullOnly: true,
    about: 'The same with the WebRTC VAD (libfvad, WASM, on the event loop).',
  },
  {
    id: 'pacing',
    title: 'media: pacing drift',
    script: 'bench/media/pacing-drift.ts',
    args: ['30'],
    quickArgs: ['5'],
    about: '10 simulated minutes of the RTP output clock (timers 0-4 ms late, a 150 ms stall every 30 s), then a real-time run of one RTP transport.',
  },
  {
    id: 'overhead',
    title: 'pipeline: overhead and barge-in reaction',
    script: 'bench/pipeline/overhead.ts',
    args: ['20', '100'],
    quickArgs: ['10', '100'],
    about:
      'The conversation engine alone with zero-latency provider fakes and an in-memory transport: STT final -> first audio frame handed to the transport, ' +
      'at 1 and at 100 concurrent calls; barge-in reaction = VAD decision -> output queue flushed.',
  },
  {
    id: 'simulator',
    title: 'Asterisk simulator: its own share',
    script: 'packages/asterisk-simulator/src/bench/simulator-bench.ts',
    args: ['20', '5'],
    quickArgs: ['10', '2'],
    about:
      'The simulator with an ideal RTP app (replies after one quiet frame = 20 ms; stops at the first loud packet): the simulator\'s own share of the ' +
      'response and barge-in paths, and its CPU for N bridged calls.',
  },
  {
    id: 'caller',
    title: 'end to end: the scripted caller through the simulator and the real pipeline',
    script: 'bench/pipeline/caller-first-audio.ts',
    args: ['4', '10'],
    quickArgs: ['2', '5'],
    about:
      'flow-manager answers a simulated call and runs ai_talk; pipeline-manager takes the call audio over RTP external media; provider doubles at typical ' +
      'latencies (STT final 150 ms after the end of speech, LLM first token 350 ms, TTS first byte 150 ms; VAD double ends speech after 100 ms of quiet). ' +
      'End of the caller\'s utterance -> first audio the caller hears, and the pipeline\'s share = that - 650 ms - endpointing wait.',
  },
];

// ---- arguments ----

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const list = (value: string | undefined) => (value ? value.split(',').map((entry) => entry.trim()).filter(Boolean) : undefined);
const known = new Set(['quick', 'list', 'help', 'only', 'skip', 'out']);
for (const arg of argv) {
  const name = /^--([a-z]+)/.exec(arg)?.[1];
  if (!name || !known.has(name)) {
    console.error(`unknown argument ${arg}; see bench/run-all.ts (--quick, --only=, --skip=, --out=, --list)`);
    process.exit(2);
  }
}
if (flag('list') || flag('help')) {
  for (const bench of benchmarks) console.log(`${bench.id.padEnd(14)} ${bench.title}${bench.fullOnly ? ' (not with --quick)' : ''}`);
  process.exit(0);
}
const quick = flag('quick');
const only = list(option('only'));
const skip = list(option('skip')) ?? [];
for (const id of [...(only ?? []), ...skip]) {
  if (!benchmarks.some((bench) => bench.id === id)) {
    console.error(`no benchmark "${id}" (bench ids: ${benchmarks.map((bench) => bench.id).join(', ')})`);
    process.exit(2);
  }
}
const outDir = option('out') ?? join(root, 'bench');
const selected = benchmarks.filter((bench) => (only ? only.includes(bench.id) : !(quick && bench.fullOnly)) && !skip.includes(bench.id));
const command = `pnpm bench${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;

// ---- running ----

interface Outcome {
  bench: Benchmark;
  status: 'ok' | 'failed' | 'not run';
  exitCode?: number | null;
  signal?: string | null;
  error?: string;
  seconds: number;
  stdout: string;
  stderr: string;
  figures: Figures;
  commandLine: string;
}

const perBenchTimeoutMs = (quick ? 5 : 10) * 60_000;
let running: ReturnType<typeof spawn> | undefined;
const stopChild = () => {
  if (running?.pid && running.exitCode === null) {
    try {
      process.kill(-running.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
};
process.once('SIGINT', () => {
  stopChild();
  process.exit(130);
});

async function run(bench: Benchmark, index: number, total: number, scratch: string): Promise<Outcome> {
  const args = quick ? bench.quickArgs : bench.args;
  const env = { ...(quick ? bench.quickEnv : bench.env) };
  const commandLine = `${Object.entries(env)
    .map(([name, value]) => `${name}=${value} `)
    .join('')}pnpm tsx ${bench.script}${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
  console.log(`\n[${index}/${total}] ${bench.title} ...\n    ${commandLine}`);
  const jsonFile = join(scratch, `${bench.id}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, bench.script), ...args], {
    cwd: root,
    env: { ...process.env, ...env, BENCH_JSON: jsonFile },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running = child;
  let stdout = '';
  let stderr = '';
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout += `${line}\n`;
    console.log(`    ${line}`);
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr += `${line}\n`;
    console.log(`    ! ${line}`);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopChild();
  }, perBenchTimeoutMs);
  const { code, signal, error } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once('error', (spawnError) => resolve({ code: null, signal: null, error: spawnError }));
    child.once('close', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  clearTimeout(timer);
  running = undefined;
  const seconds = (performance.now() - started) / 1000;
  let figures: Figures = {};
  try {
    const parsed = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>;
    for (const [name, value] of Object.entries(parsed)) figures[`${bench.prefix ?? ''}${name}`] = typeof value === 'number' && Number.isFinite(value) ? value : null;
  } catch {
    figures = {};
  }
  const ok = code === 0 && !timedOut && !error;
  const reason = timedOut ? `timed out after ${perBenchTimeoutMs / 60_000} min` : error ? error.message : `exit code ${code}${signal ? `, signal ${signal}` : ''}`;
  console.log(ok ? `    done in ${seconds.toFixed(1)} s` : `    FAILED (${reason}) after ${seconds.toFixed(1)} s`);
  return {
    bench,
    status: ok ? 'ok' : 'failed',
    exitCode: code,
    signal,
    ...(ok ? {} : { error: reason }),
    seconds,
    stdout,
    stderr,
    // A failed benchmark's figures are not used: a partial run is not a measurement.
    figures: ok ? figures : {},
    commandLine,
  };
}

const startedAt = new Date();
const loadBefore = loadavg();
const scratch = mkdtempSync(join(tmpdir(), 'avp-bench-'));
const outcomes: Outcome[] = [];
console.log(`${command}: ${selected.length} benchmark(s)${quick ? ' (quick)' : ''}, one at a time; report in ${relative(process.cwd(), outDir) || '.'}/REPORT.md`);
try {
  let index = 0;
  for (const bench of selected) outcomes.push(await run(bench, ++index, selected.length, scratch));
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
for (const bench of benchmarks) {
  if (!selected.includes(bench)) outcomes.push({ bench, status: 'not run', seconds: 0, stdout: '', stderr: '', figures: {}, commandLine: '' });
}
const totalSeconds = (Date.now() - startedAt.getTime()) / 1000;
const loadAfter = loadavg();

// ---- the figures ----

const all: Figures = Object.assign({}, ...outcomes.map((outcome) => outcome.figures)) as Figures;
const get = (key: string): number | null => (typeof all[key] === 'number' ? all[key] : null);

/**
 * Calls per core: the largest tested call count N whose RTP send jitter p99 was below 2 ms (as
 * the benchmark's own last line), divided by the CPU cores the process used at N when that is
 * more than one (Silero's worker thread runs beside the event loop); never scaled up when it
 * used less than one core, since a larger count was not shown to keep the jitter.
 */
function callsPerCore(prefix: string): { callsPerCore: number | null; jitter: number | null; calls: number | null; cpuPct: number | null; steps: number[] } {
  const steps = Object.keys(all)
    .map((key) => new RegExp(`^${prefix}calls_(\\d+)_jitter_p99_ms$`).exec(key)?.[1])
    .filter((value): value is string => value !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  let best: number | null = null;
  for (const calls of steps) {
    const jitter = get(`${prefix}calls_${calls}_jitter_p99_ms`);
    if (jitter !== null && jitter < 2) best = calls;
  }
  if (best === null) return { callsPerCore: null, jitter: null, calls: null, cpuPct: null, steps };
  const cpuPct = get(`${prefix}calls_${best}_cpu_pct`);
  const cores = cpuPct === null ? null : cpuPct / 100;
  return { callsPerCore: cores === null ? null : best / Math.max(1, cores), jitter: get(`${prefix}calls_${best}_jitter_p99_ms`), calls: best, cpuPct, steps };
}

const silero = callsPerCore('media_silero_');
const webrtc = callsPerCore('media_webrtc_');
const concurrent = (() => {
  const levels = Object.keys(all)
    .map((key) => /^overhead_calls_(\d+)_p50_ms$/.exec(key)?.[1])
    .filter((value): value is string => value !== undefined)
    .map(Number);
  return levels.length > 0 ? Math.max(...levels) : 100;
})();

const required: Figures = {
  pipeline_overhead_p50_ms: get(`overhead_calls_${concurrent}_p50_ms`),
  pipeline_overhead_p95_ms: get(`overhead_calls_${concurrent}_p95_ms`),
  bargein_reaction_ms: get(`bargein_calls_${concurrent}_max_ms`),
  calls_per_core: silero.callsPerCore === null ? null : Math.floor(silero.callsPerCore),
  rtp_send_jitter_p99_ms: silero.jitter,
  resampler_roundtrip_snr_db: get('resampler_roundtrip_snr_db'),
  resampler_alias_rejection_db: get('resampler_alias_rejection_db'),
  rest_get_ai_rps: get('rest_get_ai_rps'),
  rest_get_ai_p99_ms: get('rest_get_ai_p99_ms'),
  caller_first_audio_p50_ms: get('caller_first_audio_p50_ms'),
};
const derived: Figures = {
  caller_first_audio_p95_ms: get('caller_first_audio_p95_ms'),
  caller_pipeline_share_p50_ms: get('caller_pipeline_share_p50_ms'),
  caller_pipeline_share_p95_ms: get('caller_pipeline_share_p95_ms'),
  calls_per_core_calls_tested: silero.calls,
  calls_per_core_cpu_pct: silero.cpuPct,
  calls_per_core_webrtc: webrtc.callsPerCore === null ? null : Math.floor(webrtc.callsPerCore),
  rtp_send_jitter_p99_ms_webrtc: webrtc.jitter,
  pipeline_overhead_1call_p50_ms: get('overhead_calls_1_p50_ms'),
  pipeline_overhead_1call_p95_ms: get('overhead_calls_1_p95_ms'),
  machine_cpus: cpus().length,
  machine_load_avg_1m_start: Math.round(loadBefore[0]! * 100) / 100,
  machine_load_avg_1m_end: Math.round(loadAfter[0]! * 100) / 100,
  run_quick: quick ? 1 : 0,
  run_seconds: Math.round(totalSeconds),
  run_benchmarks_failed: outcomes.filter((outcome) => outcome.status === 'failed').length,
};
const reportJson: Figures = { ...required, ...derived, ...all };
for (const [key, value] of Object.entries(reportJson)) if (typeof value === 'number') reportJson[key] = Math.round(value * 1000) / 1000;

// ---- the report ----

const fmt = (value: number | null | undefined, digits = 1, unit = '') => (value === null || value === undefined ? 'n/a' : `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`);
const verdict = (value: number | null | undefined, ok: (value: number) => boolean) => (value === null || value === undefined ? 'not measured' : ok(value) ? 'met' : 'NOT met');
const outcomeOf = (id: string) => outcomes.find((outcome) => outcome.bench.id === id)!;
const sourceNote = (id: string) => {
  const outcome = outcomeOf(id);
  return outcome.status === 'ok' ? `[${id}](#${id})` : `[${id}](#${id}) (${outcome.status === 'failed' ? 'FAILED' : 'not run'})`;
};
const cpuModel = cpus()[0]?.model?.trim() ?? 'unknown';
const summaryRows: [string, string, string, string, string][] = [
  [
    `Pipeline overhead p50 (STT final -> first audio frame out, ${concurrent} concurrent calls, zero-latency fakes)`,
    fmt(required.pipeline_overhead_p50_ms, 2, 'ms'),
    '< 5 ms',
    verdict(required.pipeline_overhead_p50_ms, (value) => value < 5),
    sourceNote('overhead'),
  ],
  [
    `Pipeline overhead p95 (same, ${concurrent} concurrent calls)`,
    fmt(required.pipeline_overhead_p95_ms, 2, 'ms'),
    '< 15 ms',
    verdict(required.pipeline_overhead_p95_ms, (value) => value < 15),
    sourceNote('overhead'),
  ],
  [
    `Barge-in reaction, worst of ${concurrent} concurrent calls (VAD decision -> output flushed)`,
    fmt(required.bargein_reaction_ms, 3, 'ms'),
    '<= 20 ms',
    verdict(required.bargein_reaction_ms, (value) => value <= 20),
    sourceNote('overhead'),
  ],
  [
    `Calls per core (Silero VAD; definition below)${silero.calls !== null && silero.calls === silero.steps.at(-1) ? ' (the largest count tested: a lower bound)' : ''}`,
    required.calls_per_core === null || required.calls_per_core === undefined ? 'n/a' : String(required.calls_per_core),
    '>= 200',
    verdict(required.calls_per_core, (value) => value >= 200),
    sourceNote('calls-silero'),
  ],
  [
    `RTP send jitter p99 at that call count${silero.calls !== null ? ` (${silero.calls} calls)` : ''}`,
    fmt(required.rtp_send_jitter_p99_ms, 3, 'ms'),
    '< 2 ms',
    verdict(required.rtp_send_jitter_p99_ms, (value) => value < 2),
    sourceNote('calls-silero'),
  ],
  [
    `Calls per core with the WebRTC VAD instead${webrtc.calls !== null ? ` (${webrtc.calls} calls, jitter p99 ${fmt(webrtc.jitter, 3, 'ms')})` : ''}`,
    derived.calls_per_core_webrtc === null || derived.calls_per_core_webrtc === undefined ? 'n/a' : String(derived.calls_per_core_webrtc),
    '>= 200',
    verdict(derived.calls_per_core_webrtc, (value) => value >= 200),
    sourceNote('calls-webrtc'),
  ],
  ['Resampler 8 -> 16 -> 8 kHz round-trip SNR on speech (quality 6)', fmt(required.resampler_roundtrip_snr_db, 1, 'dB'), '-', '-', sourceNote('resampler')],
  ['Resampler alias rejection, 16 -> 8 kHz, 4.2-7.8 kHz sweep (quality 6)', fmt(required.resampler_alias_rejection_db, 1, 'dB'), '-', '-', sourceNote('resampler')],
  ['REST GET /v1.0/ais/{id} throughput (16 connections)', fmt(required.rest_get_ai_rps, 0, 'req/s'), '-', '-', sourceNote('rest')],
  ['REST GET /v1.0/ais/{id} p99 latency', fmt(required.rest_get_ai_p99_ms, 2, 'ms'), '-', '-', sourceNote('rest')],
  ['Caller: end of utterance -> first audio heard, p50 (650 ms of provider doubles included)', fmt(required.caller_first_audio_p50_ms, 1, 'ms'), '-', '-', sourceNote('caller')],
  ['Caller: end of utterance -> first audio heard, p95', fmt(derived.caller_first_audio_p95_ms, 1, 'ms'), '-', '-', sourceNote('caller')],
  ["Caller: the pipeline's share, p50 / p95 (latency - 650 ms - endpointing wait)", `${fmt(derived.caller_pipeline_share_p50_ms, 1)} / ${fmt(derived.caller_pipeline_share_p95_ms, 1, 'ms')}`, '-', '-', sourceNote('caller')],
];

const lines: string[] = [];
lines.push('# Benchmark report', '');
lines.push(`Generated by \`${command}\` on ${startedAt.toISOString()} in ${Math.round(totalSeconds)} s${quick ? ' (--quick: shorter runs, fewer samples)' : ''}.`);
lines.push('Every benchmark ran in its own process, one after the other. `bench/report.json` holds the same figures as numbers.', '');
lines.push('## Machine', '');
lines.push(`- CPU: ${cpuModel}, ${cpus().length} logical cores (available parallelism ${availableParallelism()})`);
lines.push(`- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; OS: ${osType()} ${release()}`);
lines.push(`- Node ${process.version}`);
lines.push(`- Load average (1 min) at start ${loadBefore[0]!.toFixed(2)}, at end ${loadAfter[0]!.toFixed(2)}: other work on a shared machine shows up in the jitter and latency figures.`, '');
lines.push('## Summary', '');
lines.push('| Figure | Value | Target | Target met | Source |', '|---|---|---|---|---|');
for (const row of summaryRows) lines.push(`| ${row.join(' | ')} |`);
lines.push('', 'Targets are those of issue 5 (calls per core, jitter) and issue 7 (pipeline overhead, barge-in); the other figures have none.', '');
lines.push('### Definitions', '');
lines.push(
  `- **pipeline_overhead_p50_ms / _p95_ms**: from bench/pipeline/overhead.ts at ${concurrent} concurrent calls (the same at 1 call is \`pipeline_overhead_1call_*\`): ` +
    'the conversation engine with provider fakes that answer at once, from the STT final transcript to the first audio frame handed to the transport.',
  `- **bargein_reaction_ms**: the largest barge-in reaction over all turns at ${concurrent} concurrent calls: from the VAD's "caller started speaking" decision to the moment the transport's output queue is flushed (no bot frame leaves after it).`,
  '- **calls_per_core**: from bench/media/concurrent-calls.ts with the Silero VAD (the pipeline\'s default, batched in a worker thread). Take the largest tested call count N whose RTP send jitter p99 was below 2 ms (a smaller count may miss it on a busy machine: see its "bare timer p99", the noise floor measured alongside); ' +
    'divide it by the CPU cores the benchmark process used at N (`cpu %` / 100, both threads) when that is more than one core. It is never scaled up when less than one core was used: a count that was not tested is not claimed. ' +
    'When no count met the jitter bound, the figure is null. `calls_per_core_webrtc` is the same with the WebRTC VAD (full run only).',
  '- **rtp_send_jitter_p99_ms**: the p99 of |interval between a call\'s consecutive RTP packets - 20 ms| over all calls, at that call count N.',
  '- **resampler_roundtrip_snr_db**, **resampler_alias_rejection_db**: at the engine\'s resampler quality (6); the other qualities are `resampler_q<N>_*`.',
  '- **rest_get_ai_rps**, **rest_get_ai_p99_ms**: GET /v1.0/ais/{id}, 16 keep-alive connections in closed loop, ai-manager on PostgreSQL in its own process.',
  '- **caller_first_audio_p50_ms**: the scripted caller of the Asterisk simulator, calling into flow-manager and the real pipeline-manager over RTP external media; from the last loud frame the caller sends to the first loud frame it hears. ' +
    'The provider doubles add 650 ms by construction (STT final 150 ms after the last speech frame reached it, LLM first token 350 ms, TTS first byte 150 ms). ' +
    '**caller_pipeline_share_*** = the caller\'s latency - 650 ms - the endpointing wait (how long the turn waited for the VAD\'s end of speech after the STT final; 0 here because the VAD double ends speech after 100 ms of quiet, before the STT final). ' +
    'The share holds the RTP uplink through the simulator and the jitter buffer, the turn start, sentence splitting, framing, the output queue and 20 ms pacing, the RTP downlink, the simulator\'s bridge and the caller noticing the first loud frame ' +
    '(the simulator benchmark gives the simulator\'s own part of a round trip). With the default Silero settings (stop_secs 0.8 s) a real call also waits for 0.8 s of silence, since the turn ends on the VAD when the STT endpoint comes while the VAD still hears speech: about 650 ms more than here.',
  '',
);
lines.push('## Benchmarks', '');
for (const outcome of outcomes) {
  const { bench } = outcome;
  lines.push(`### ${bench.title} <a id="${bench.id}"></a>`, '');
  lines.push(bench.about, '');
  if (outcome.status === 'not run') {
    lines.push(`Not run in this report (\`--only\` / \`--skip\`${bench.fullOnly ? ', or not part of --quick' : ''}). Run alone: \`pnpm bench --only=${bench.id}\`.`, '');
    continue;
  }
  lines.push(`- Command: \`${outcome.commandLine}\``);
  lines.push(`- Status: ${outcome.status === 'ok' ? 'ok' : `**FAILED** (${outcome.error}); its figures are left out of report.json`}; ${outcome.seconds.toFixed(1)} s`, '');
  lines.push('```', outcome.stdout.trimEnd() || '(no output)', '```', '');
  if (outcome.status === 'failed' && outcome.stderr.trim() !== '') {
    lines.push('Error output (last 40 lines):', '', '```', outcome.stderr.trimEnd().split('\n').slice(-40).join('\n'), '```', '');
  }
}
lines.push('## How to run', '');
lines.push(
  '`pnpm bench` runs everything (about 4 minutes on this machine) and writes this file and `bench/report.json`; `pnpm bench --quick` makes each run shorter (about 2 minutes, fewer samples, no WebRTC calls-per-core run); ' +
    '`--only=<ids>` / `--skip=<ids>` pick benchmarks (ids: ' +
    benchmarks.map((bench) => `\`${bench.id}\``).join(', ') +
    '); `--out=<dir>` writes the report elsewhere. Each benchmark also runs on its own with the command shown in its section; with `BENCH_JSON=<file>` it writes its figures there as JSON. ' +
    'The REST benchmark needs PostgreSQL (`DATABASE_URL_ADMIN`, default postgres://postgres@127.0.0.1:5432/postgres).',
  '',
);

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'REPORT.md'), lines.join('\n'));
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(reportJson, null, 2)}\n`);
console.log(`\nwrote ${join(outDir, 'REPORT.md')} and report.json in ${Math.round(totalSeconds)} s`);
console.log(JSON.stringify(required, null, 2));
const failed = outcomes.filter((outcome) => outcome.status === 'failed');
if (failed.length > 0) {
  console.error(`failed: ${failed.map((outcome) => outcome.bench.id).join(', ')}`);
  process.exitCode = 1;
}
