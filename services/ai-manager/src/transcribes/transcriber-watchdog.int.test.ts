import { randomUUID } from 'node:crypto';
import {
  appError,
  createDatabase,
  createInProcessBus,
  createRpcRouter,
  InProcessBroker,
  rpcCall,
  rpcReply,
  type Bus,
  type Database,
  type RpcRequest,
  type Subscription,
} from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';

/** A pipeline-manager process as the bus sees it: the transcribers it runs and the starts it took. */
interface FakeTranscriberHost {
  instanceId: string;
  transcribers: Map<string, Record<string, unknown>>;
  starts: Record<string, unknown>[];
  /** Stops serving, as a killed process does. */
  kill(): Promise<void>;
}

async function startFakeTranscriberHost(bus: Bus, instanceId: string, options: { refuse?: () => boolean } = {}): Promise<FakeTranscriberHost> {
  const transcribers = new Map<string, Record<string, unknown>>();
  const starts: Record<string, unknown>[] = [];
  const router = createRpcRouter()
    .add('GET', '/v1/ping', async () => ({ service: 'pipeline-manager', instance_id: instanceId }))
    .add('POST', '/v1/transcribers', async ({ data }) => {
      const body = data as Record<string, unknown>;
      starts.push(body);
      if (options.refuse?.()) throw appError('RESOURCE_NOT_FOUND', 'The call is gone.');
      const id = randomUUID();
      transcribers.set(id, body);
      return rpcReply(201, { transcriber_id: id, instance_id: instanceId });
    })
    .add('GET', '/v1/transcribers', async () => ({ instance_id: instanceId, result: [...transcribers.keys()].map((id) => ({ transcriber_id: id })) }))
    .add('POST', '/v1/transcribers/:id/stop', async ({ params }) => {
      if (!transcribers.delete(params.id!)) throw appError('RESOURCE_NOT_FOUND', `No transcriber ${params.id} runs here.`);
      return { stopped: true };
    });
  let server: Subscription | undefined = await bus.serve('pipeline-manager', (request: RpcRequest) => router.handle(request), { instanceId });
  return {
    instanceId,
    transcribers,
    starts,
    async kill() {
      await server?.close();
      server = undefined;
    },
  };
}

/**
 * The transcriber watchdog, with in-process buses on one broker and pipeline-manager processes
 * as fakes: a transcriber whose process dies is started again on another one, with what it was
 * started with (a recording's reporting only what comes after the last stored transcript of
 * its side); a call that ended meanwhile ends the transcription; a live transcriber is left alone.
 */
describe('transcriber watchdog', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let broker: InProcessBroker;
  let harness: Harness;
  let flowManager: Subscription;
  const hosts: FakeTranscriberHost[] = [];
  const calls = new Map<string, { customer_id: string; status: string }>();
  const recordings = new Map<string, { customer_id: string; status: string }>();
  let customer: { id: string; key: string };

  // A check every 50 ms; lost after 400 ms of failed checks (10 s in production).
  const watchdog = { intervalMs: 50, probeTimeoutMs: 100, lostAfterMs: 400, stopTimeoutMs: 200 };
  const newBus = () => createInProcessBus({ broker });

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    broker = new InProcessBroker();
    const router = createRpcRouter()
      .add('GET', '/v1/calls/:id', async ({ params }) => {
        const found = calls.get(params.id!);
        if (!found) throw appError('RESOURCE_NOT_FOUND', 'No such call.');
        return { id: params.id, ...found };
      })
      .add('GET', '/v1/recordings/:id', async ({ params }) => {
        const found = recordings.get(params.id!);
        if (!found) throw appError('RESOURCE_NOT_FOUND', 'No such recording.');
        return { id: params.id, ...found };
      });
    flowManager = await newBus().serve('flow-manager', (request) => router.handle(request));
    harness = await startHarness(database, { pipelineWatchdog: watchdog, transcribes: { sttType: 'local' } }, newBus());
    customer = await createTestCustomer(harness);
  });

  const created: string[] = [];
  afterEach(async () => {
    // Each test's transcriptions end with it, so the next test's hosts see only its own.
    for (const id of created.splice(0)) await call(harness, 'POST', `/v1.0/transcribes/${id}/stop`, { key: customer.key });
    for (const host of hosts.splice(0)) await host.kill();
  });

  /** Starts a transcription through the API; answers its id. */
  async function startTranscription(body: Record<string, unknown>): Promise<string> {
    const response = await call(harness, 'POST', '/v1.0/transcribes', { key: customer.key, body: { language: 'en-US', ...body } });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    created.push(response.body.id as string);
    return response.body.id as string;
  }

  afterAll(async () => {
    await harness?.stop();
    await flowManager?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  async function host(options: { refuse?: () => boolean } = {}): Promise<FakeTranscriberHost> {
    const started = await startFakeTranscriberHost(newBus(), `pm-${randomUUID().slice(0, 8)}`, options);
    hosts.push(started);
    return started;
  }

  const transcribe = (id: string) => call(harness, 'GET', `/v1.0/transcribes/${id}`, { key: customer.key }).then((response) => response.body as { status: string });
  const refs = async (id: string) =>
    (
      await database
        .forSchema<{ transcribes: { id: string; transcribers: { transcriber_id: string; instance_id: string; direction: string }[] } }>('ai_manager')
        .selectFrom('transcribes')
        .select('transcribers')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).transcribers;

  it("starts a dead process's call transcribers again on another, with the phrases and the origin they had; a live one is left alone", async () => {
    const callId = randomUUID();
    calls.set(callId, { customer_id: customer.id, status: 'progressing' });
    const first = await host();
    const id = await startTranscription({ reference_type: 'call', reference_id: callId, direction: 'both', phrases: ['book an appointment'] });
    expect(first.starts).toHaveLength(2);
    const origin = first.starts[0]!.origin_ms;

    // Alive: left alone over several checks.
    const second = await host();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(second.starts).toHaveLength(0);

    await first.kill();
    await eventually(() => second.starts.length === 2, 5000);
    expect(second.starts.map((start) => start.direction).sort()).toEqual(['in', 'out']);
    for (const start of second.starts) {
      expect(start).toMatchObject({ transcribe_id: id, customer_id: customer.id, call_id: callId, stt_language: 'en-US', parameter: { stt_phrases: ['book an appointment'] }, origin_ms: origin });
      expect(start).not.toHaveProperty('resume_after_ms');
    }
    await eventually(async () => (await refs(id)).every((ref) => ref.instance_id === second.instanceId), 5000);
    expect((await refs(id)).map((ref) => ref.transcriber_id).sort()).toEqual([...second.transcribers.keys()].sort());
    expect((await transcribe(id)).status).toBe('progressing');
    // Not started a third time.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(second.starts).toHaveLength(2);
  });

  it("starts a recording's lost transcriber again from the start, reporting only after the last transcript stored for its side", async () => {
    const recordingId = randomUUID();
    recordings.set(recordingId, { customer_id: customer.id, status: 'ended' });
    const first = await host();
    const id = await startTranscription({ reference_type: 'recording', reference_id: recordingId, direction: 'both' });
    // The caller's side had reported two utterances before the process died; the other side none.
    for (const offset of [1200, 5400]) {
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/transcripts', { transcribe_id: id, customer_id: customer.id, direction: 'in', text: `said at ${offset}`, offset_ms: offset });
    }
    const second = await host();
    await first.kill();
    await eventually(() => second.starts.length === 2, 5000);
    const byDirection = Object.fromEntries(second.starts.map((start) => [start.direction, start]));
    expect(byDirection.in).toMatchObject({ recording_id: recordingId, resume_after_ms: 5400 });
    expect(byDirection.out).toMatchObject({ recording_id: recordingId });
    expect(byDirection.out).not.toHaveProperty('resume_after_ms');

    // The new transcribers hear the file to its end: the transcription is done.
    await eventually(async () => (await refs(id)).every((ref) => ref.instance_id === second.instanceId), 5000);
    for (const ref of await refs(id)) {
      second.transcribers.delete(ref.transcriber_id);
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/transcribers/finished', { transcribe_id: id, customer_id: customer.id, transcriber_id: ref.transcriber_id });
    }
    expect((await transcribe(id)).status).toBe('done');
  });

  it('ends the transcription when its call ended while the transcriber was lost', async () => {
    const callId = randomUUID();
    calls.set(callId, { customer_id: customer.id, status: 'progressing' });
    const first = await host();
    const id = await startTranscription({ reference_type: 'call', reference_id: callId, direction: 'in' });
    // The call hangs up while its process is dead (the hang-up event is not seen here), and the next process cannot snoop on it.
    const second = await host({ refuse: () => true });
    calls.set(callId, { customer_id: customer.id, status: 'hangup' });
    await first.kill();
    await eventually(async () => (await transcribe(id)).status === 'done', 5000);
    expect(second.starts).toHaveLength(1);
  });
});
