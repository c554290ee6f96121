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
 * failed and its figures are null: nothing is made up. The benchmarks are listed in
 * bench/lib/benchmarks.ts; the report is written by bench/lib/report.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchmarks, type Benchmark, type Figures, type Outcome } from './lib/benchmarks.ts';
import { writeReport } from './lib/report.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

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
  const width = Math.max(...benchmarks.map((bench) => bench.id.length)) + 1;
  for (const bench of benchmarks) console.log(`${bench.id.padEnd(width)} ${bench.title}${bench.fullOnly ? ' (not with --quick)' : ''}`);
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

// ---- the report ----

const required = writeReport({ command, quick, startedAt, totalSeconds, loadBefore, loadAfter, outcomes }, outDir);
console.log(`\nwrote ${join(outDir, 'REPORT.md')} and report.json in ${Math.round(totalSeconds)} s`);
console.log(JSON.stringify(required, null, 2));
const failed = outcomes.filter((outcome) => outcome.status === 'failed');
if (failed.length > 0) {
  console.error(`failed: ${failed.map((outcome) => outcome.bench.id).join(', ')}`);
  process.exitCode = 1;
}
