import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/create-logger.ts';
import { commonEnvironmentSchema } from './common-environment.ts';
import type { Service, ServiceContext } from './service-definition.ts';
import { startPlatform, type RunningPlatform } from './start-platform.ts';

/** A service with a slow route and a record of its lifecycle calls. */
function slowService(events: string[]) {
  return async (_context: ServiceContext): Promise<Service> => ({
    name: 'slow-service',
    registerRoutes(app) {
      app.get('/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 300));
        events.push('slow request finished');
        return { done: true };
      });
      app.get('/ip', async (request) => ({ ip: request.ip }));
    },
    async start() {
      events.push('started');
    },
    async stop() {
      events.push('stopped');
    },
  });
}

describe('startPlatform', () => {
  let dataDir: string;
  let platform: RunningPlatform;
  const events: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'platform-test-'));
    const environment = commonEnvironmentSchema.parse({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, TRUST_PROXY: 'loopback' });
    platform = await startPlatform({ services: [slowService(events)], environment, logger: silentLogger(), handleSignals: false });
  });

  afterAll(async () => {
    await platform.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves health, readiness and metrics on the embedded stack', async () => {
    expect(platform.database.kind).toBe('pglite');
    expect(await (await fetch(`${platform.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${platform.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', bus: 'ok' } });
    expect(await (await fetch(`${platform.url}/metrics`)).text()).toContain('nodejs_heap_size_total_bytes');
    expect(events).toEqual(['started']);
  });

  it("takes the client's address from X-Forwarded-For set by a proxy of TRUST_PROXY (here loopback)", async () => {
    // Injected (from 127.0.0.1): a fetch would leave a kept-alive connection the stop test below then meets.
    const response = await platform.app.inject({ method: 'GET', url: '/ip', headers: { 'x-forwarded-for': '203.0.113.4' } });
    expect(response.json()).toEqual({ ip: '203.0.113.4' });
    const direct = await platform.app.inject({ method: 'GET', url: '/ip', remoteAddress: '198.51.100.2', headers: { 'x-forwarded-for': '203.0.113.4' } });
    expect(direct.json()).toEqual({ ip: '198.51.100.2' });
  });

  it('finishes an in-flight request on stop, then refuses new connections', async () => {
    const inFlight = fetch(`${platform.url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopping = platform.stop();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ done: true });
    await stopping;
    // The service stopped taking work first; the HTTP server then waited for the request.
    expect(events).toEqual(['started', 'stopped', 'slow request finished']);
    await expect(fetch(`${platform.url}/healthz`)).rejects.toThrow();
    await expect(platform.database.ping()).rejects.toThrow(/closed/);
  });
});
