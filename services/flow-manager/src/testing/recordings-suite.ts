import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestTelephony, type TelephonyKind, type TestTelephony } from '@avp/asterisk-testing';
import { appError, createHttpServer, createMetricsRegistry, createRpcRouter, rpcCall, silentLogger, type EventEnvelope, type Recording, type RecordingAudio, type Subscription } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { LocalRecordingStorage } from '../domain/recordings/recording-storage.ts';
import { decodeWav } from '../domain/recordings/wav.ts';
import { rtpConsumer } from './snoop-legs-case.ts';
import { embeddedTelephonyStack, type TelephonyStack } from './telephony-suite.ts';

const customerId = randomUUID();
const key = `key-${randomUUID()}`;

/** A tone at 16 kHz (what a scripted caller speaks). */
function tone(hz: number, seconds: number): Int16Array {
  return Int16Array.from({ length: 16_000 * seconds }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / 16_000)));
}

/** Goertzel power of `hz` in the samples, normalised by their count. */
function power(samples: Int16Array, sampleRate: number, hz: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let [previous, beforePrevious] = [0, 0];
  for (const sample of samples) [previous, beforePrevious] = [sample + coefficient * previous - beforePrevious, previous];
  return (previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious) / Math.max(1, samples.length) ** 2;
}

/** Where (ms) the 100 ms windows in which `hz` is loud start. */
function loudWindows(samples: Int16Array, sampleRate: number, hz: number): number[] {
  const size = sampleRate / 10;
  const starts: number[] = [];
  for (let start = 0; start + size <= samples.length; start += size) {
    if (power(samples.subarray(start, start + size), sampleRate, hz) > 1_000_000) starts.push((start * 1000) / sampleRate);
  }
  return starts;
}

/** The two channels of a stereo 16-bit WAV. */
function stereoChannels(file: Buffer): { sampleRate: number; left: Int16Array; right: Int16Array } {
  const header = decodeWav(file);
  expect(header.channels).toBe(2);
  const data = file.subarray(44);
  const frames = Math.floor(data.length / 4);
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let frame = 0; frame < frames; frame++) [left[frame], right[frame]] = [data.readInt16LE(frame * 4), data.readInt16LE(frame * 4 + 2)];
  return { sampleRate: header.sampleRate, left, right };
}

/**
 * Recordings of calls through an Asterisk (a real Asterisk 23, or the simulator once it records):
 * both sides apart in one stereo WAV, stop over the API, the caller's hang-up, another
 * customer's call and recording, and an AI session's media leg left undisturbed.
 */
export function describeRecordings(name: string, kind: TelephonyKind): void {
  describe(name, () => {
    let stack: TelephonyStack;
    let telephony: TestTelephony;
    let instance: { flowManager: FlowManager; app: FastifyInstance } | undefined;
    let directory: string;
    let events: Subscription;
    const published: EventEnvelope[] = [];
    const ariApp = `avp-${randomUUID().slice(0, 8)}`;

    async function startFlowManager(): Promise<void> {
      const flowManager = await createFlowManager(
        { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `recordings-${randomUUID().slice(0, 8)}` },
        {
          ari: { connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: ariApp }, mediaBaseUrl: 'http://127.0.0.1:9', telDialTemplate: telephony.telDialTemplate },
          recordingStorage: new LocalRecordingStorage(directory),
        },
      );
      const app = createHttpServer({ logger: silentLogger() });
      await flowManager.registerRoutes(app);
      await flowManager.start();
      await telephony.waitForApp();
      instance = { flowManager, app };
    }

    /** flow-manager goes away with its memory; Asterisk keeps what it had. */
    async function stopFlowManager(): Promise<void> {
      await instance?.flowManager.stop();
      await instance?.app.close();
      instance = undefined;
    }

    beforeAll(async () => {
      stack = await embeddedTelephonyStack();
      directory = await mkdtemp(join(tmpdir(), 'avp-recordings-'));
      telephony = await startTestTelephony(kind, { ariApp, ariUser: 'asterisk', ariPassword: 'secret' });
      const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId };
      });
      await stack.bus.serve('ai-manager', aiManager.handle, { shared: true });
      events = await stack.bus.subscribe('flow-manager', ['recording_started', 'recording_finished'], async (event) => void published.push(event), { queue: `recordings-test-${ariApp}`, temporary: true });
      await startFlowManager();
    }, 60_000);

    afterAll(async () => {
      await events?.close();
      await stopFlowManager();
      await telephony?.close();
      await stack?.cleanup();
      if (directory) await rm(directory, { recursive: true, force: true });
    });

    const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => instance!.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
    const json = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown) => (await api(method, url, body)).json<Record<string, unknown>>();
    const recording = async (id: string) => (await json('GET', `/v1.0/recordings/${id}`)) as unknown as Recording;

    async function call(actions: unknown[], callerNumber: string) {
      const flow = await json('POST', '/v1.0/flows', { actions });
      const number = `+1${Math.floor(Math.random() * 1e10)}`;
      await json('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
      const caller = telephony.placeCall({ extension: number, callerNumber });
      await caller.waitForAnswer(10_000);
      let found: Record<string, unknown> | undefined;
      await eventually(async () => {
        const { result } = (await json('GET', '/v1.0/calls?page_size=100')) as { result: Record<string, unknown>[] };
        found = result.find((entry) => entry.channel_id === caller.id);
        return found !== undefined;
      }, 'the call to be recorded');
      return { caller, callId: String(found!.id), activeflowId: String(found!.activeflow_id) };
    }

    /**
     * Nothing of the recording is left in Asterisk: no snoop channel, no stored file. (The files
     * are deleted just after the recording is stored and marked ended, so this waits for it.)
     */
    async function expectNothingLeft(recordingId: string): Promise<void> {
      await eventually(async () => !(await telephony.channels()).some((channel) => channel.id.startsWith(`recording-${recordingId}`)), 'the recording snoops to go');
      const auth = `Basic ${Buffer.from('asterisk:secret').toString('base64')}`;
      const left = async () =>
        ((await (await fetch(`${telephony.url}/ari/recordings/stored`, { headers: { authorization: auth } })).json()) as { name: string }[])
          .map((entry) => entry.name)
          .filter((name) => name.includes(recordingId));
      await eventually(async () => (await left()).length === 0, 'the stored files to be deleted', 10_000).catch(async () => expect(await left()).toEqual([]));
    }

    it('records both sides of a call apart beside an AI media leg and a transcription leg: left what the caller said, right what it heard', async () => {
      const { caller, callId } = await call([{ type: 'answer' }, { type: 'block' }], '+15551240001');
      const ai = await rtpConsumer();
      const transcriber = await rtpConsumer();
      try {
        const media = await rpcCall<{ channel_id: string; bridge_id: string }>(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/external_media`, {
          customer_id: customerId,
          transport: 'rtp',
          external_host: `127.0.0.1:${ai.port}`,
          format: 'ulaw',
        });
        // A transcription's snoop leg on the caller's voice, as pipeline-manager asks for it.
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/snoop_media`, { customer_id: customerId, direction: 'in', external_host: `127.0.0.1:${transcriber.port}` });
        const started = await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId });
        expect(started.statusCode, started.body).toBe(200);
        const { id } = started.json<Recording>();
        expect(started.json()).toMatchObject({ customer_id: customerId, reference_type: 'call', reference_id: callId, status: 'recording', format: 'wav', duration_ms: 0, tm_start: expect.any(String), tm_end: null });
        expect((await api('GET', `/v1.0/recordings/${id}/file`)).statusCode).toBe(409);
        // The AI's leg and its bridge with the caller are left as they were.
        expect((await telephony.bridges()).find((bridge) => bridge.id === media.bridge_id)?.channels.sort()).toEqual([caller.id, media.channel_id].sort());

        // The caller says 440 Hz (the AI leg hears it too), then hears 1000 Hz.
        const [aiHeard, transcriberHeard] = [ai.counts.loud, transcriber.counts.loud];
        await caller.play(tone(440, 1));
        await eventually(() => ai.counts.loud - aiHeard >= 10 && transcriber.counts.loud - transcriberHeard >= 10, "the caller's voice on the AI leg and the transcription's leg while recording");
        const hears = caller.waitForAudio(10_000);
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/play`, { customer_id: customerId, stream_urls: ['tone:1000'] });
        await hears;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/media_stop`, { customer_id: customerId });

        const stopping = await json('POST', `/v1.0/recordings/${id}/stop`);
        expect(['stopping', 'ended']).toContain(stopping.status);
        await eventually(async () => (await recording(id)).status === 'ended', 'the recording to end', 15_000);
        const ended = await recording(id);
        expect(ended).toMatchObject({ status: 'ended', failure_reason: '', tm_end: expect.any(String) });
        expect(ended.duration_ms).toBeGreaterThan(1500);

        const file = await api('GET', `/v1.0/recordings/${id}/file`);
        expect(file.statusCode).toBe(200);
        expect(file.headers['content-type']).toBe('audio/wav');
        const { sampleRate, left, right } = stereoChannels(file.rawPayload);
        expect(Math.round((left.length * 1000) / sampleRate)).toBe(ended.duration_ms);
        // Each side carries its own sound and not the other's.
        expect(power(left, sampleRate, 440)).toBeGreaterThan(100 * power(left, sampleRate, 1000));
        expect(power(right, sampleRate, 1000)).toBeGreaterThan(100 * power(right, sampleRate, 440));
        // On one timeline: the caller spoke (left) about a second before it heard the tone (right).
        const [said, heard] = [loudWindows(left, sampleRate, 440), loudWindows(right, sampleRate, 1000)];
        expect(said.length).toBeGreaterThanOrEqual(7);
        expect(heard.length).toBeGreaterThanOrEqual(7);
        expect(heard[0]!).toBeGreaterThanOrEqual(said.at(-1)! - 100);

        // Other services read one side over the bus; another customer reads nothing.
        const audio = await rpcCall<RecordingAudio>(stack.bus, 'flow-manager', 'GET', `/v1/recordings/${id}/audio?customer_id=${customerId}&direction=out&offset_ms=0&length_ms=60000`);
        expect(audio).toMatchObject({ sample_rate: sampleRate, offset_ms: 0, duration_ms: ended.duration_ms });
        const out = Buffer.from(audio.audio, 'base64');
        expect(out.length).toBe(right.length * 2);
        expect(new Int16Array(out.buffer, out.byteOffset, out.length / 2)).toEqual(right);
        expect(await rpcCall(stack.bus, 'flow-manager', 'GET', `/v1/recordings/${id}?customer_id=${randomUUID()}`).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
        expect(await rpcCall(stack.bus, 'flow-manager', 'GET', `/v1/recordings/${id}?customer_id=${customerId}`)).toMatchObject({ id, status: 'ended' });

        // The AI leg still hears the caller after the recording.
        const later = ai.counts.loud;
        await caller.play(tone(440, 0.6));
        await eventually(() => ai.counts.loud - later >= 10, "the caller's voice on the AI leg after the recording");
        await expectNothingLeft(id);
        await eventually(() => published.filter((event) => (event.data as Recording).id === id).length === 2, 'both events');
        expect(published.filter((event) => (event.data as Recording).id === id).map((event) => [event.type, (event.data as Recording).status])).toEqual([
          ['recording_started', 'recording'],
          ['recording_finished', 'ended'],
        ]);

        // Deleted: gone from the list and the storage.
        expect(((await json('GET', '/v1.0/recordings')).result as Recording[]).map((entry) => entry.id)).toContain(id);
        expect((await json('DELETE', `/v1.0/recordings/${id}`)).tm_delete).toEqual(expect.any(String));
        expect((await api('GET', `/v1.0/recordings/${id}`)).statusCode).toBe(404);
        expect(await new LocalRecordingStorage(directory).get(`${customerId}/${id}.wav`)).toBeUndefined();
      } finally {
        ai.close();
        transcriber.close();
        caller.hangup();
      }
    }, 90_000);

    it("finishes a running recording when the caller hangs up (recording_start in the flow)", async () => {
      const { caller, activeflowId } = await call([{ type: 'answer' }, { type: 'recording_start' }, { type: 'block' }], '+15551240002');
      let id = '';
      await eventually(async () => (id = ((await json('GET', `/v1.0/activeflows/${activeflowId}`)).variables as Record<string, string>)['voipbin.recording.id'] ?? '') !== '', 'voipbin.recording.id');
      await eventually(async () => (await recording(id)).status === 'recording', 'the recording to run');
      await caller.play(tone(440, 1));
      caller.hangup();
      await eventually(async () => (await recording(id)).status === 'ended', 'the recording to end with the call', 20_000);
      const { sampleRate, left } = stereoChannels((await api('GET', `/v1.0/recordings/${id}/file`)).rawPayload);
      expect(power(left, sampleRate, 440)).toBeGreaterThan(100 * power(left, sampleRate, 1000));
      await expectNothingLeft(id);
    }, 60_000);

    it("refuses another customer's call and recording with 404, and a call that ended with 409", async () => {
      const { caller, callId } = await call([{ type: 'answer' }, { type: 'block' }], '+15551240003');
      const before = (await telephony.channels()).map((channel) => channel.id).sort();
      const otherCustomer = randomUUID();
      expect((await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: randomUUID() })).statusCode).toBe(404);
      // Asked in another customer's name (what the API does for another key), the call is a 404.
      expect(await instance!.flowManager.recordings.start(otherCustomer, callId).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
      expect((await telephony.channels()).map((channel) => channel.id).sort()).toEqual(before);
      const started = await json('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId });
      expect(await instance!.flowManager.recordings.get(otherCustomer, String(started.id)).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
      expect(await instance!.flowManager.recordings.stop(otherCustomer, String(started.id)).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
      expect((await recording(String(started.id))).status).toBe('recording');
      caller.hangup();
      await eventually(async () => (await recording(String(started.id))).status === 'ended', 'the recording to end with the call', 20_000);
      const late = await api('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId });
      expect(late.statusCode).toBe(409);
    }, 60_000);

    it('survives a restart of flow-manager: a running recording is taken over, one that ended meanwhile is finished', async () => {
      const running = await call([{ type: 'answer' }, { type: 'block' }], '+15551240004');
      const left = await call([{ type: 'answer' }, { type: 'block' }], '+15551240005');
      const start = async (callId: string) => String((await json('POST', '/v1.0/recordings', { reference_type: 'call', reference_id: callId })).id);
      const [runningId, leftId] = [await start(running.callId), await start(left.callId)];
      await running.caller.play(tone(440, 0.6));
      await left.caller.play(tone(440, 0.6));

      await stopFlowManager();
      // While nobody listens: one caller hangs up (its recording ends in Asterisk), the other talks on.
      left.caller.hangup();
      await eventually(async () => !(await telephony.channels()).some((channel) => channel.id.startsWith(`recording-${leftId}`)), 'the left recording to end in Asterisk', 15_000);
      await running.caller.play(tone(440, 0.6));
      await startFlowManager();

      await eventually(async () => (await recording(leftId)).status === 'ended', 'the recording that ended meanwhile to be finished', 15_000);
      expect((await recording(runningId)).status).toBe('recording');
      await json('POST', `/v1.0/recordings/${runningId}/stop`);
      await eventually(async () => (await recording(runningId)).status === 'ended', 'the adopted recording to end', 15_000);
      // A hung-up snoop is listed until audio passes its target (real Asterisk): the caller speaks.
      await running.caller.play(tone(440, 0.3));
      for (const id of [leftId, runningId]) {
        const { sampleRate, left: said } = stereoChannels((await api('GET', `/v1.0/recordings/${id}/file`)).rawPayload);
        expect(loudWindows(said, sampleRate, 440).length, id).toBeGreaterThanOrEqual(4);
        await expectNothingLeft(id);
      }
      running.caller.hangup();
    }, 90_000);
  });
}
