import http from 'node:http';
import autocannon from 'autocannon';

/** One benchmark's figures. */
export interface LoadResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  durationMs: number;
}

/** A run of a fixed number of requests instead of a fixed time (autocannon's `amount`). */
export type AutocannonOptions = (LoadOptions | (Omit<LoadOptions, 'durationMs'> & { amount: number })) & { durationMs?: number };

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/**
 * A closed-loop load generator: `connections` keep-alive connections, each sending its next
 * request as soon as the previous answer arrives, for `durationMs`. Latency is measured
 * per request from send to the end of the answer; non-2xx answers count as errors.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const target = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + options.durationMs;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const request = http.request(
        { agent, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method, headers: options.headers },
        (response) => {
          response.resume();
          response.on('end', () => {
            latencies.push(performance.now() - started);
            if ((response.statusCode ?? 500) >= 300) errors += 1;
            resolve();
          });
        },
      );
      request.on('error', () => {
        errors += 1;
        resolve();
      });
      request.end(options.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    requestsPerSecond: latencies.length / elapsedSeconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/**
 * The same closed loop with autocannon (its own HTTP client, hdr-histogram latencies): requests
 * per second over the whole run, p50 and p99 of the latency. Non-2xx answers and socket errors
 * count as errors.
 */
export async function runAutocannon(options: AutocannonOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method,
    headers: options.headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    connections: options.connections,
    ...('amount' in options ? { amount: options.amount } : { duration: (options.durationMs ?? 10_000) / 1000 }),
  });
  return {
    requests: result.requests.total,
    errors: result.errors + result.non2xx,
    requestsPerSecond: result.requests.total / Math.max(result.duration, 1e-9),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
