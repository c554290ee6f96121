/**
 * Benchmark of GET /v1.0/ais/{id} and POST /v1.0/ais on PostgreSQL.
 *
 * GET is measured with autocannon next to its ceiling in the same run: a bare Fastify route
 * doing one PostgreSQL lookup of the same row in the same database (fastify-pg-server.ts, its
 * own process), the two alternating in two rounds each so that the machine's other load falls
 * on both alike. `rest_get_ai_ratio_to_fastify_pg` = ai-manager's requests/s / the bare
 * route's: what authentication, tenancy, validation, serialisation and the platform's hooks
 * cost (the absolute requests/s depend on the machine; the ratio much less).
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
const bare = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fastify-pg-server.ts', import.meta.url)), databaseUrl], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: process.env,
});
const bareLine = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: bare.stdout! });
  lines.once('line', resolve);
  bare.once('exit', (code) => reject(new Error(`bare Fastify server exited with ${code}`)));
});
const bareUrl = (JSON.parse(bareLine) as { url: string }).url;

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
  const getBare = { url: `${bareUrl}/ais/${aiId}`, method: 'GET' as const, headers: {}, connections };
  // A short warm-up so JIT and connection pools are settled before measuring.
  await runAutocannon({ ...getAi, durationMs: 2000 });
  await runAutocannon({ ...getBare, durationMs: 2000 });
  const half = (seconds * 1000) / 2;
  // Each server's own CPU time over its runs: per request it hardly depends on what else the
  // machine does, unlike requests/s.
  const cpu = { ai: 0, bare: 0 };
  const measured = async (which: 'ai' | 'bare') => {
    const pid = (which === 'ai' ? server : bare).pid!;
    const before = cpuMicros(pid);
    const result = await runAutocannon({ ...(which === 'ai' ? getAi : getBare), durationMs: half });
    cpu[which] += cpuMicros(pid) - before;
    return result;
  };
  const aiFirst = await measured('ai');
  const bareFirst = await measured('bare');
  const aiSecond = await measured('ai');
  const bareSecond = await measured('bare');
  const aiResult = merge(aiFirst, aiSecond);
  const bareResult = merge(bareFirst, bareSecond);
  report('GET /v1.0/ais/{id}', aiResult, 'rest_get_ai');
  report('bare Fastify + 1 PG lookup', bareResult, 'rest_fastify_pg');
  const ratio = aiResult.requestsPerSecond / bareResult.requestsPerSecond;
  writeBenchJson({ rest_get_ai_ratio_to_fastify_pg: ratio });
  console.log(`GET /v1.0/ais/{id} reaches ${(ratio * 100).toFixed(0)} % of the bare route's requests/s (autocannon, ${connections} connections, 2 x ${half / 1000} s each, alternating)`);
  const aiCpu = cpu.ai / aiResult.requests;
  const bareCpu = cpu.bare / bareResult.requests;
  writeBenchJson({ rest_get_ai_cpu_us_per_request: aiCpu, rest_fastify_pg_cpu_us_per_request: bareCpu, rest_get_ai_cpu_ratio_to_fastify_pg: bareCpu / aiCpu });
  console.log(
    `server CPU per request: ai-manager ${aiCpu.toFixed(1)} us, bare route ${bareCpu.toFixed(1)} us (bare / ai-manager ${(bareCpu / aiCpu).toFixed(2)}, the ceiling's share by CPU rather than by throughput)`,
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
  bare.kill('SIGTERM');
  await once(bare, 'exit');
  server.kill('SIGTERM');
  await once(server, 'exit');
}
