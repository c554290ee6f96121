import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appError, createDatabase, createHttpServer, createInProcessBus, createMetricsRegistry, createRpcRouter, rpcCall, silentLogger, type Bus, type Recording, type RecordingAudio } from '@avp/shared';
import { createTestPgliteDatabase, eventually } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from './app.ts';
import { LocalRecordingStorage } from './domain/recordings/recording-storage.ts';
import { wavHeader } from './domain/recordings/wav.ts';
import { FakeCallControl } from './testing/fake-call-control.ts';

const keys: Record<string, string> = { 'key-alice': randomUUID(), 'key-bob': randomUUID() };
const alice = keys['key-alice']!;

/** A mono 16-bit WAV of `samples` as Asterisk stores a side (8 kHz). */
function sideWav(samples: number[], sampleRate = 8000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((sample, index) => data.writeInt16LE(sample, index * 2));
  return Buffer.concat([wavHeader(sampleRate, 1, data.length), data]);
}

// The recordings API and its bookkeeping with a call control double: what Asterisk does is in
// recordings-asterisk.int.test.ts.
describe('recordings over the API and the bus (PGlite, call control double)', () => {
  let cleanup: () => Promise<void>;
  let bus: Bus;
  let app: FastifyInstance;
  let flowManager: FlowManager;
  let calls: FakeCallControl;
  let directory: string;

  beforeAll(async () => {
    const test = await createTestPgliteDatabase();
    const database = await createDatabase(test.options);
    directory = await mkdtemp(join(tmpdir(), 'avp-recordings-api-'));
    bus = createInProcessBus();
    await bus.serve('ai-manager', createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
      const customerId = keys[(data as { key: string }).key];
      if (!customerId) throw appError('INVALID_CREDENTIALS');
      return { customer_id: customerId, accesskey_id: randomUUID() };
    }).handle);
    calls = new FakeCallControl();
    flowManager = await createFlowManager(
      { database, bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: 'recordings-api' },
      { callControl: calls, recordingStorage: new LocalRecordingStorage(directory) },
    );
    app = createHttpServer({ logger: silentLogger() });
    await flowManager.registerRoutes(app);
    await flowManager.start();
    await app.ready();
    cleanup = async () => {
      await flowManager.stop();
      await app.close();
      await bus.close();
      await database.close();
      await test.drop();
      await rm(directory, { recursive: true, force: true });
    };
  });

  afterAll(async () => cleanup?.());

  const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, key = 'key-alice') =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });

  /** A live call of Alice's whose flow waits (`block`), or runs `actions`. */
  async function aliceCall(actions: unknown[] = [{ type: 'answer' }, { type: 'block' }]) {
    const flow = (await api('POST', '/v1.0/flows', { actions })).json<{ id: string }>();
    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    const channelId = `chan-${randomUUID()}`;
    const call = await flowManager.callEvents.incoming({ channelId, source: '+15550100', destination: number });
    return { callId: call!.id, channelId, activeflowId: call!.activeflow_id! };
  }

  it('starts, stops and stores a recording: stereo WAV, one side over the bus, 409 while it records, 404 for Bob', async () => {
    const { callId } = await aliceCall();
    const started = await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId });
    expect(started.statusCode, started.body).toBe(200);
    const recording = started.json<Recording>();
    expect(calls.operations).toContain(`recording_start ${callId} ${recording.id}`);
    expect((await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId }, 'key-bob')).statusCode).toBe(404);
    for (const path of ['', '/file']) expect((await api('GET', `/v1.0/recordings/${recording.id}${path}`, undefined, 'key-bob')).statusCode).toBe(404);
    expect((await api('POST', `/v1.0/recordings/${recording.id}/stop`, undefined, 'key-bob')).statusCode).toBe(404);
    expect((await api('DELETE', `/v1.0/recordings/${recording.id}`, undefined, 'key-bob')).statusCode).toBe(404);
    expect((await api('GET', '/v1.0/recordings', undefined, 'key-bob')).json<{ result: unknown[] }>().result).toEqual([]);
    expect((await api('GET', `/v1.0/recordings/${recording.id}/file`)).statusCode).toBe(409);
    const audio = (query: string, customer = alice) => rpcCall<RecordingAudio>(bus, 'flow-manager', 'GET', `/v1/recordings/${recording.id}/audio?customer_id=${customer}&${query}`);
    expect(await audio('direction=in').catch((error: unknown) => error)).toMatchObject({ reason: 'INVALID_STATE' });

    expect((await api('POST', `/v1.0/recordings/${recording.id}/stop`)).json()).toMatchObject({ status: 'stopping' });
    expect(calls.operations).toContain(`recording_stop ${callId} ${recording.id}`);
    // The caller's side is 3 samples, what it heard 1 (1 s at 8 kHz would be 8000).
    await flowManager.recordings.recordingEnded(recording.id, { files: { in: sideWav([100, 200, 300, ...new Array<number>(7997).fill(0)]), out: sideWav([-5]) } });
    const ended = (await api('GET', `/v1.0/recordings/${recording.id}`)).json<Recording>();
    expect(ended).toMatchObject({ status: 'ended', duration_ms: 1000, failure_reason: '', tm_end: expect.any(String) });
    // Told again (a restart), nothing changes.
    await flowManager.recordings.recordingEnded(recording.id, { files: {}, failure: 'again' });
    expect((await api('GET', `/v1.0/recordings/${recording.id}`)).json()).toEqual(ended);

    const file = await api('GET', `/v1.0/recordings/${recording.id}/file`);
    expect([file.statusCode, file.headers['content-type'], file.rawPayload.readUInt16LE(22), file.rawPayload.length]).toEqual([200, 'audio/wav', 2, 44 + 8000 * 4]);
    expect([44, 46, 48, 50].map((offset) => file.rawPayload.readInt16LE(offset))).toEqual([100, -5, 200, 0]);

    const window = await audio('direction=in&offset_ms=0&length_ms=1');
    expect(window).toMatchObject({ sample_rate: 8000, offset_ms: 0, duration_ms: 1000 });
    expect(Buffer.from(window.audio, 'base64')).toEqual(sideWav([100, 200, 300, 0, 0, 0, 0, 0]).subarray(44));
    const heard = await audio('direction=out&offset_ms=999&length_ms=60000');
    expect([heard.offset_ms, Buffer.from(heard.audio, 'base64').length]).toEqual([999, 16]);
    expect(Buffer.from((await audio('direction=out&offset_ms=5000')).audio, 'base64').length).toBe(0);
    expect(await audio('direction=in', keys['key-bob']).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
    expect(await audio('direction=both').catch((error: unknown) => error)).toMatchObject({ reason: 'VALIDATION_FAILED' });
    expect(await audio('direction=in&length_ms=60001').catch((error: unknown) => error)).toMatchObject({ reason: 'VALIDATION_FAILED' });

    const deleted = (await api('DELETE', `/v1.0/recordings/${recording.id}`)).json<Recording>();
    expect(deleted.tm_delete).toEqual(expect.any(String));
    expect((await api('GET', `/v1.0/recordings/${recording.id}`)).statusCode).toBe(404);
    expect(await new LocalRecordingStorage(directory).get(`${alice}/${recording.id}.wav`)).toBeUndefined();
  });

  it('runs recording_start and recording_stop in a flow, setting voipbin.recording.id', async () => {
    const { callId, activeflowId } = await aliceCall([{ type: 'answer' }, { type: 'recording_start' }, { type: 'recording_stop' }, { type: 'block' }]);
    let variables: Record<string, string> = {};
    await eventually(async () => ((variables = (await api('GET', `/v1.0/activeflows/${activeflowId}`)).json<{ variables: Record<string, string> }>().variables)['voipbin.recording.id'] ?? '') !== '', 'the recording id');
    const id = variables['voipbin.recording.id']!;
    await eventually(() => calls.operations.includes(`recording_stop ${callId} ${id}`), 'recording_stop to stop it');
    expect((await api('GET', `/v1.0/recordings/${id}`)).json()).toMatchObject({ reference_id: callId, status: 'stopping' });
  });

  it('fails a recording Asterisk stored nothing for, and one whose call ended before it started', async () => {
    const { callId, channelId } = await aliceCall();
    const recording = (await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId })).json<Recording>();
    await flowManager.recordings.recordingEnded(recording.id, { files: {}, failure: 'in: Asterisk stored no file' });
    expect((await api('GET', `/v1.0/recordings/${recording.id}`)).json()).toMatchObject({ status: 'failed', failure_reason: 'in: Asterisk stored no file' });
    const file = await api('GET', `/v1.0/recordings/${recording.id}/file`);
    expect([file.statusCode, file.json<{ error: { message: string } }>().error.message]).toEqual([409, 'The recording failed: in: Asterisk stored no file']);
    await flowManager.callEvents.hungUp(channelId, 'Normal Clearing');
    expect((await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId })).statusCode).toBe(409);
    expect((await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: randomUUID() })).statusCode).toBe(404);
  });
});
