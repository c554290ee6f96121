/**
 * Benchmark of GET /v1.0/ais/{id} and POST /v1.0/ais on PostgreSQL.
 *
 * GET is measured with autocannon next to its ceiling in the same run: a bare Fastify route
 * doing one PostgreSQL lookup of the same row in the same database (fastify-pg-server.ts, its
 * own process), the two alternating in two rounds each so that the machine's other load falls
 * on both alike. `rest_get_ai_ratio_to_fastify_pg` = ai-manager's requests/s / the bare
 * route's: what authentication, tenancy, validation, serialisation and the platform's hooks
 * cost (the absolute requests/s depend on the machine; the ratio much less). ai-manager reads
 * the row as a named statement described once per connection (packages/shared's
 * describedQuery), cheaper than pg's own query; a third server, the bare route reading the same
 * way (`--described`), gives `rest_get_ai_ratio_to_fastify_pg_described`: the platform's
 * request handling alone.
 *
 *   pnpm tsx bench/ai-manager/ais.ts            # 10 s per endpoint, 16 connections
 *   BENCH_SECONDS=5 BENCH_CONNECTIONS=32 pnpm tsx bench/ai-manager/ais.ts
 *
 * Needs the PostgreSQL of DATABASE_URL_ADMIN (default postgres://postgres@127.0.0.1:5432/postgres);
 * creates and drops its own database. The server runs in a child process (bench-server.ts)
 * with request logging at `warn`, rate limiting off, and the in-process bus unless
 * RABBITMQ_URL is set. Also reads each server's CPU time (/proc) around its GET runs:
 * `rest_get_ai_cpu_ratio_to_fastify_pg` = the bare route's CPU per request / ai-manager's, the
 * same comparison by cost rather than throughput, much steadier on a busy machine. Prints requests/s and latency percentiles (and, with BENCH_JSON=<file>,
 * writes them there as JSON: rest_get_ai_rps, rest_get_ai_p99_ms, rest_post_ai_rps, ...).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { writeBenchJson } from '../lib/bench-json.ts';
import { runAutocannon, runLoad, type LoadResult } from './load.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);

const server = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./bench-server.ts', import.meta.url))], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: process.env,
});
const firstLine = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: server.stdout! });
  lines.once('line', resolve);
  server.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
});
const { url, key, aiId, databaseUrl } = JSON.parse(firstLine) as { url: string; key: string; aiId: string; databaseUrl: string };
/** Starts a bare Fastify + PostgreSQL route (fastify-pg-server.ts) on the bench database; answers it and its URL. */
async function startBare(extra: string[]): Promise<{ child: ReturnType<typeof spawn>; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fastify-pg-server.ts', import.meta.url)), databaseUrl, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bare Fastify server exited with ${code}`)));
  });
  return { child, url: (JSON.parse(line) as { url: string }).url };
}
const bareServer = await startBare([]);
const describedServer = await startBare(['--described']);

/** User + system CPU time of a process so far, in microseconds (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Two runs merged: requests/s over both, the worse p50/p99 (their histograms are not kept). */
function merge(first: LoadResult, second: LoadResult): LoadResult {
  const requests = first.requests + second.requests;
  const seconds = first.requests / first.requestsPerSecond + second.requests / second.requestsPerSecond;
  return { requests, errors: first.errors + second.errors, requestsPerSecond: requests / seconds, p50Ms: Math.max(first.p50Ms, second.p50Ms), p99Ms: Math.max(first.p99Ms, second.p99Ms) };
}

function report(name: string, result: LoadResult, prefix: string): void {
  writeBenchJson({
    [`${prefix}_rps`]: result.requestsPerSecond,
    [`${prefix}_p50_ms`]: result.p50Ms,
    [`${prefix}_p99_ms`]: result.p99Ms,
    [`${prefix}_requests`]: result.requests,
    [`${prefix}_errors`]: result.errors,
  });
  console.log(
    `${name.padEnd(24)} ${result.requestsPerSecond.toFixed(0).padStart(6)} req/s   p50 ${result.p50Ms.toFixed(2)} ms   p99 ${result.p99Ms.toFixed(2)} ms   (${result.requests} requests, ${result.errors} errors)`,
  );
}

try {
  console.log(`ai-manager on PostgreSQL, ${connections} connections, ${seconds} s per endpoint`);
  writeBenchJson({ rest_connections: connections, rest_seconds_per_endpoint: seconds });
  const headers = { authorization: `Bearer ${key}` };
  const getAi = { url: `${url}/v1.0/ais/${aiId}`, method: 'GET' as const, headers, connections };
  const getBare = { url: `${bareServer.url}/ais/${aiId}`, method: 'GET' as const, headers: {}, connections };
  const getDescribed = { url: `${describedServer.url}/ais/${aiId}`, method: 'GET' as const, headers: {}, connections };
  const targets = {
    ai: { pid: server.pid!, options: getAi },
    bare: { pid: bareServer.child.pid!, options: getBare },
    described: { pid: describedServer.child.pid!, options: getDescribed },
  };
  type Target = keyof typeof targets;
  // A short warm-up so JIT and connection pools are settled before measuring.
  for (const target of Object.values(targets)) await runAutocannon({ ...target.options, durationMs: 2000 });
  const half = (seconds * 1000) / 2;
  // Each server's own CPU time over its runs: per request it hardly depends on what else the
  // machine does, unlike requests/s.
  const cpu: Record<Target, number> = { ai: 0, bare: 0, described: 0 };
  const runs: Record<Target, LoadResult[]> = { ai: [], bare: [], described: [] };
  for (let round = 0; round < 2; round++) {
    for (const which of Object.keys(targets) as Target[]) {
      const { pid, options } = targets[which];
      const before = cpuMicros(pid);
      runs[which].push(await runAutocannon({ ...options, durationMs: half }));
      cpu[which] += cpuMicros(pid) - before;
    }
  }
  const aiResult = merge(runs.ai[0]!, runs.ai[1]!);
  const bareResult = merge(runs.bare[0]!, runs.bare[1]!);
  const describedResult = merge(runs.described[0]!, runs.described[1]!);
  report('GET /v1.0/ais/{id}', aiResult, 'rest_get_ai');
  report('bare Fastify + 1 PG lookup', bareResult, 'rest_fastify_pg');
  report('the same, described', describedResult, 'rest_fastify_pg_described');
  const ratio = aiResult.requestsPerSecond / bareResult.requestsPerSecond;
  const describedRatio = aiResult.requestsPerSecond / describedResult.requestsPerSecond;
  writeBenchJson({ rest_get_ai_ratio_to_fastify_pg: ratio, rest_get_ai_ratio_to_fastify_pg_described: describedRatio });
  console.log(`GET /v1.0/ais/{id} reaches ${(ratio * 100).toFixed(0)} % of the bare route's requests/s (autocannon, ${connections} connections, 2 x ${half / 1000} s each, alternating)`);
  console.log(`and ${(describedRatio * 100).toFixed(0)} % of a bare route reading the row the way ai-manager does (a statement described once per connection)`);
  const aiCpu = cpu.ai / aiResult.requests;
  const bareCpu = cpu.bare / bareResult.requests;
  const describedCpu = cpu.described / describedResult.requests;
  writeBenchJson({
    rest_get_ai_cpu_us_per_request: aiCpu,
    rest_fastify_pg_cpu_us_per_request: bareCpu,
    rest_fastify_pg_described_cpu_us_per_request: describedCpu,
    rest_get_ai_cpu_ratio_to_fastify_pg: bareCpu / aiCpu,
    rest_get_ai_cpu_ratio_to_fastify_pg_described: describedCpu / aiCpu,
  });
  console.log(
    `server CPU per request: ai-manager ${aiCpu.toFixed(1)} us, bare route ${bareCpu.toFixed(1)} us (bare / ai-manager ${(bareCpu / aiCpu).toFixed(2)}), described bare route ${describedCpu.toFixed(1)} us (${(describedCpu / aiCpu).toFixed(2)})`,
  );
  const body = JSON.stringify({
    name: 'bench',
    engine_model: 'openai.gpt-4o-mini',
    engine_key: 'sk-bench',
    init_prompt: 'You are a helpful assistant.',
    tts_type: 'elevenlabs',
    stt_type: 'deepgram',
    stt_language: 'en-US',
    tool_names: ['connect_call'],
    vad_config: { confidence: 0.7 },
  });
  report(
    'POST /v1.0/ais',
    await runLoad({
      url: `${url}/v1.0/ais`,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body,
      connections,
      durationMs: seconds * 1000,
    }),
    'rest_post_ai',
  );
} finally {
  for (const child of [bareServer.child, describedServer.child]) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  server.kill('SIGTERM');
  await once(server, 'exit');
}
