import { randomBytes } from 'node:crypto';
import {
  createHttpServer,
  createInProcessBus,
  createMetricsRegistry,
  loadConfig,
  OutboundPolicy,
  outboundEnvironmentSchema,
  silentLogger,
  type Bus,
  type Database,
  type EventEnvelope,
  type Logger,
  type Service,
} from '@avp/shared';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Registry } from 'prom-client';
import { expect } from 'vitest';
import { createAiManager, type AiManagerOptions } from '../app.ts';

/** The admin token of test instances. */
export const adminToken = 'test-admin-token-0123456789';

/** An engine key the tests store; it must never come back from anything. */
export const secretEngineKey = 'sk-test-NEVER-SHOWN-0f9e8d7c6b5a';

/** One running ai-manager on a test database, with its HTTP server listening on 127.0.0.1. */
export interface Harness {
  app: FastifyInstance;
  bus: Bus;
  service: Service;
  /** The Prometheus registry the service registered its metrics in. */
  metrics: Registry;
  url: string;
  /** Every event published on the bus since start, in order. */
  events: EventEnvelope[];
  stop(): Promise<void>;
}

const encryptionKey = randomBytes(32).toString('base64');

/**
 * The outbound policy of test instances, built from the operator's setting as a deployment
 * would: the tests' webhook receivers listen on 127.0.0.1, which the rule refuses otherwise.
 */
export function testOutboundPolicy(allowedHosts = '127.0.0.1'): OutboundPolicy {
  return new OutboundPolicy(loadConfig('test', outboundEnvironmentSchema, { OUTBOUND_ALLOWED_HOSTS: allowedHosts }).OUTBOUND_ALLOWED_HOSTS);
}

/** Starts ai-manager on `database` with its own in-process bus (or the one given). */
export async function startHarness(
  database: Database,
  options: AiManagerOptions = {},
  bus: Bus = createInProcessBus(),
  logger: Logger = silentLogger(),
): Promise<Harness> {
  const metrics = createMetricsRegistry();
  const service = await createAiManager(
    { database, bus, logger, metrics, instanceId: `test-${randomBytes(4).toString('hex')}` },
    {
      engineKeyEncryptionKey: encryptionKey,
      adminToken,
      rateLimit: { perSecond: 0, burst: 1 },
      webhooks: { retryBaseMs: 20, retryMaxMs: 100, pollIntervalMs: 50, timeoutMs: 2000 },
      keyCacheTtlMs: 0,
      eventRelay: { intervalMs: 50 },
      outbound: testOutboundPolicy(),
      ...options,
    },
  );
  const app = createHttpServer({ logger });
  await service.registerRoutes(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const events: EventEnvelope[] = [];
  const recorder = await bus.subscribe(
    'ai-manager',
    ['#'],
    async (event) => {
      events.push(event);
    },
    { queue: `test-recorder-${randomBytes(4).toString('hex')}`, temporary: true },
  );
  await service.start();
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    bus,
    service,
    metrics,
    url: `http://127.0.0.1:${port}`,
    events,
    async stop() {
      await service.stop();
      await recorder.close();
      await app.close();
    },
  };
}

/** A response, checked on the way that the engine key never appears in it. */
export interface ApiResponse {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read JSON bodies field by field
  body: any;
  headers: LightMyRequestResponse['headers'];
}

/** Sends a request through `inject` as a customer (key) or the admin, returning status and JSON. */
export async function call(
  harness: Harness,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  url: string,
  options: { key?: string; admin?: boolean; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.admin) headers.authorization = `Bearer ${adminToken}`;
  if (options.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const response = await harness.app.inject({
    method,
    url,
    headers,
    ...(options.rawBody !== undefined ? { payload: options.rawBody } : options.body !== undefined ? { payload: options.body as object } : {}),
  });
  expect(response.body).not.toContain(secretEngineKey);
  expect(response.body).not.toContain('engine_key"');
  return { status: response.statusCode, body: response.body ? response.json() : undefined, headers: response.headers };
}

/** Creates a customer through the admin API; returns its id and key. */
export async function createTestCustomer(harness: Harness, name = 'customer'): Promise<{ id: string; key: string; keyId: string }> {
  const response = await call(harness, 'POST', '/v1.0/customers', { admin: true, body: { name } });
  expect(response.status).toBe(200);
  return { id: response.body.id, key: response.body.accesskey.key, keyId: response.body.accesskey.id };
}

/** A valid AI body; override fields per test. */
export function aiBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'support bot',
    detail: 'answers support calls',
    engine_model: 'openai.gpt-4o-mini',
    parameter: { company: 'Acme' },
    engine_key: secretEngineKey,
    init_prompt: 'You are helpful.',
    tts_type: 'elevenlabs',
    tts_voice_id: 'voice-1',
    stt_type: 'deepgram',
    stt_language: 'en-US',
    tool_names: ['connect_call', 'send_email'],
    vad_config: { confidence: 0.6, start_secs: 0.3, stop_secs: 0.5, min_volume: 0.4 },
    smart_turn_enabled: true,
    ...overrides,
  };
}

/** Waits until `condition` holds (polling; no fixed sleeps in assertions). */
export async function eventually<T>(read: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
