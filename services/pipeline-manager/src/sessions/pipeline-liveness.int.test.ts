import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createInProcessBus, createRpcRouter, appError, rpcCall, silentLogger, type Bus, type EventEnvelope, type RpcRequest } from '@avp/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRtpPacket } from '../media/rtp-packet.ts';
import { FakeLlm, FakeStt, FakeTts, FakeVad } from '../pipeline/testing/fakes.ts';
import { PipelineLiveness } from './pipeline-liveness.ts';
import { PipelineSessions, pipelineStartSchema } from './pipeline-sessions.ts';
import { createPipelineRpcRouter } from './rpc-routes.ts';

const customerId = '00000000-0000-4000-8000-00000000000c';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Pipelines that must not outlive their session, on an in-process bus with ai-manager and
 * flow-manager played by the test: real PipelineSessions over RTP (a UDP socket stands in for
 * Asterisk), the conversation's providers doubled.
 */
describe('pipeline liveness', () => {
  let bus: Bus;
  let sessions: PipelineSessions;
  let asterisk: Socket;
  /** What ai-manager answers about each AIcall; `hang` leaves every request unanswered. */
  const aiManager = { statuses: new Map<string, string | null>(), hang: false, requests: [] as RpcRequest[] };
  /** What flow-manager says about each call; `hangMediaRemoval` leaves the leg's removal unanswered. */
  const flowManager = { calls: new Map<string, string>(), hangMediaRemoval: false, requests: [] as RpcRequest[] };
  const terminated: EventEnvelope[] = [];
  /** Unanswered requests wait on this; released after each test so the bus can close. */
  let held: Promise<void>;
  let release: () => void;

  beforeEach(async () => {
    bus = createInProcessBus();
    asterisk = createSocket('udp4');
    await new Promise<void>((resolve) => asterisk.bind(0, '127.0.0.1', resolve));
    aiManager.statuses.clear();
    aiManager.hang = false;
    aiManager.requests.length = 0;
    flowManager.calls.clear();
    flowManager.hangMediaRemoval = false;
    flowManager.requests.length = 0;
    terminated.length = 0;
    held = new Promise<void>((resolve) => (release = resolve));
    await bus.serve('ai-manager', async (request) => {
      aiManager.requests.push(request);
      if (aiManager.hang) await held;
      if (request.uri !== '/v1/aicalls/states') return { status_code: 200, data: {} };
      const asked = (request.data as { aicalls: { id: string }[] }).aicalls;
      return { status_code: 200, data: { result: asked.map(({ id }) => ({ id, status: aiManager.statuses.get(id) ?? null })) } };
    });
    const flowRouter = createRpcRouter()
      .add('POST', '/v1/calls/:id/external_media', async () => ({ local_address: '127.0.0.1', local_port: asterisk.address().port, websocket_url: null }))
      .add('DELETE', '/v1/calls/:id/external_media', async () => {
        if (flowManager.hangMediaRemoval) await held;
        return { stopped: true };
      })
      .add('GET', '/v1/calls/:id', async ({ params }) => {
        const status = flowManager.calls.get(params.id!);
        if (!status) throw appError('RESOURCE_NOT_FOUND', 'Call not found.');
        return { id: params.id, status };
      });
    await bus.serve('flow-manager', async (request) => {
      flowManager.requests.push(request);
      return flowRouter.handle(request);
    });
    await bus.subscribe('pipeline-manager', ['pipeline_terminated'], async (event) => void terminated.push(event), { queue: 'test.pipeline-terminated' });
    sessions = new PipelineSessions({
      bus,
      logger: silentLogger(),
      instanceId: 'pm-1',
      providers: { llm: () => new FakeLlm([]), stt: () => new FakeStt(), tts: () => new FakeTts() },
      createVad: async () => new FakeVad(),
    });
    await bus.serve('pipeline-manager', createPipelineRpcRouter(sessions, { serviceName: 'pipeline-manager', instanceId: 'pm-1' }).handle, { instanceId: 'pm-1', shared: false });
  });

  afterEach(async () => {
    release();
    await sessions.stopAll('test over');
    asterisk.close();
    await bus.close();
  });

  /** Starts a pipeline on a new call that flow-manager says is up; its AIcall is progressing. */
  async function startPipeline(): Promise<{ aicallId: string; callId: string }> {
    const aicallId = randomUUID();
    const callId = randomUUID();
    aiManager.statuses.set(aicallId, 'progressing');
    flowManager.calls.set(callId, 'progressing');
    await sessions.start(
      pipelineStartSchema.parse({ aicall_id: aicallId, customer_id: customerId, call_id: callId, ai: { engine_model: 'fake.model' }, greeting: false }),
    );
    return { aicallId, callId };
  }

  const liveness = (options: { mediaTimeoutMs?: number } = {}) =>
    new PipelineLiveness({
      bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      pipelines: () => sessions.livenessTargets(),
      intervalMs: 0, // The test runs the checks itself.
      requestTimeoutMs: 200,
      mediaTimeoutMs: options.mediaTimeoutMs ?? 0,
    });

  const endedReasons = () => terminated.map((event) => (event.data as { aicall_id: string; reason: string }).reason);

  it('stops a pipeline whose AIcall has ended, but not while ai-manager does not answer', async () => {
    const { aicallId } = await startPipeline();
    const checks = liveness();
    await checks.check();
    expect(sessions.has(aicallId)).toBe(true);
    expect(aiManager.requests.find((request) => request.uri === '/v1/aicalls/states')?.data).toEqual({ aicalls: [{ id: aicallId, customer_id: customerId }] });

    // The session ended while ai-manager could not reach the pipeline; then ai-manager itself is out of reach.
    aiManager.statuses.set(aicallId, 'terminated');
    aiManager.hang = true;
    await checks.check();
    expect(sessions.has(aicallId)).toBe(true);

    aiManager.hang = false;
    await checks.check();
    expect(sessions.has(aicallId)).toBe(false);
    await expect.poll(endedReasons).toEqual(['the AIcall has ended']);
  });

  it('stops a pipeline whose AIcall ai-manager does not know, and one stuck terminating on the second check', async () => {
    const unknown = await startPipeline();
    const stuck = await startPipeline();
    aiManager.statuses.delete(unknown.aicallId);
    aiManager.statuses.set(stuck.aicallId, 'terminating');
    const checks = liveness();
    await checks.check();
    expect([sessions.has(unknown.aicallId), sessions.has(stuck.aicallId)]).toEqual([false, true]);
    await checks.check();
    expect(sessions.has(stuck.aicallId)).toBe(false);
    await expect.poll(() => endedReasons().sort()).toEqual(['the AIcall does not exist', 'the AIcall has been ending for two checks']);
  });

  it('ends a pipeline whose call sent no audio for the media timeout only once flow-manager says the call is gone', async () => {
    const { aicallId, callId } = await startPipeline();
    const target = () => flowManager.requests.filter((request) => request.uri.startsWith(`/v1/calls/${callId}?`));
    const checks = liveness({ mediaTimeoutMs: 300 });
    await checks.check();

    // Audio that really arrives (not the silence filled in for a quiet caller) keeps the question from being asked.
    const pipelinePort = Number((flowManager.requests[0]!.data as { external_host: string }).external_host.split(':')[1]);
    for (let packet = 0; packet < 25; packet++) {
      const rtp = buildRtpPacket({ payloadType: 0, marker: packet === 0, sequenceNumber: packet, timestamp: packet * 160, ssrc: 7 }, new Uint8Array(160).fill(0x7f));
      asterisk.send(rtp, pipelinePort, '127.0.0.1');
      await sleep(20);
    }
    await checks.check();
    expect(target()).toHaveLength(0);

    // Silence past the timeout on a call that is up (a caller who says nothing): asked, kept.
    await sleep(350);
    await checks.check();
    expect(target()).toHaveLength(1);
    expect(sessions.has(aicallId)).toBe(true);
    // The next question waits for another full period.
    await checks.check();
    expect(target()).toHaveLength(1);

    flowManager.calls.set(callId, 'hangup');
    await sleep(350);
    await checks.check();
    expect(sessions.has(aicallId)).toBe(false);
    await expect.poll(() => terminated.map((event) => event.data)).toEqual([
      expect.objectContaining({ aicall_id: aicallId, reason: expect.stringContaining('no audio from the call'), error: expect.objectContaining({ category: 'media' }) }),
    ]);
  });

  it('keeps an ended pipeline on its instance\'s list until its pipeline_terminated is out, when flow-manager does not answer', async () => {
    const { aicallId } = await startPipeline();
    flowManager.hangMediaRemoval = true; // The leg's removal waits for its RPC timeout (3 s).
    sessions.end(aicallId, 'stop_service');
    const listed = () =>
      rpcCall<{ result: { aicall_id: string }[] }>(bus, 'pipeline-manager', 'GET', '/v1/pipelines', undefined, { instanceId: 'pm-1' }).then((reply) =>
        reply.result.map((pipeline) => pipeline.aicall_id),
      );
    await sleep(500);
    // ai-manager's watchdog still sees it: a normal end is not taken for a lost pipeline.
    expect(terminated).toHaveLength(0);
    expect(await listed()).toEqual([aicallId]);
    await expect.poll(endedReasons, { timeout: 6000 }).toEqual(['stop_service']);
    await expect.poll(listed).toEqual([]);
  });
});
