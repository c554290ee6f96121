import { randomUUID } from 'node:crypto';
import { createDatabase, createInProcessBus, InProcessBroker, rpcCall, type Database } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AiManagerTables } from '../db/tables.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';
import { startFakeFlowManager, startFakeInstance, type FakeInstance } from '../testing/takeover-fakes.ts';
import { defaultResumeApology, interruptedToolResult } from './session-resume.ts';

/**
 * Crash resumption's detection and fencing, with in-process buses on one broker and PGlite: the
 * pipeline-manager processes are fakes that publish heartbeats and serve their own queues. A
 * dead instance's session moves to a live one (same AIcall, next epoch, stored history, no
 * greeting, the apology); a broker-like silence of everyone, or an instance that still answers,
 * moves nothing; the replaced pipeline's reports, tool calls and end are refused.
 */
describe('crash resumption: a session moves to another pipeline-manager', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let broker: InProcessBroker;
  let harness: Harness;
  let flowManager: Awaited<ReturnType<typeof startFakeFlowManager>>;
  let customer: { id: string; key: string };
  let aiId: string;
  const instances: FakeInstance[] = [];
  const sessions: string[] = [];
  const newBus = () => createInProcessBus({ broker });

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    broker = new InProcessBroker();
    flowManager = await startFakeFlowManager(newBus());
    harness = await startHarness(
      database,
      {
        // The slow watchdog is off: only the fast path acts here (silent 300 ms instead of 1 s, no reconnect grace).
        pipelineWatchdog: { intervalMs: 0 },
        pipelineTakeover: { silentAfterMs: 300, reconnectGraceMs: 0, tickMs: 50, probeTimeoutMs: 100, startTimeoutMs: 1000 },
      },
      newBus(),
    );
    customer = await createTestCustomer(harness);
    const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tts_type: 'local', tts_voice_id: '', tool_names: [] }) });
    expect(ai.status, JSON.stringify(ai.body)).toBe(200);
    aiId = ai.body.id;
  });

  afterEach(async () => {
    // Sessions end before their instances go, so no later test takes them over.
    for (const id of sessions.splice(0)) await call(harness, 'POST', `/v1.0/aicalls/${id}/terminate`, { key: customer.key });
    for (const instance of instances.splice(0)) await instance.kill();
  });

  afterAll(async () => {
    await harness?.stop();
    await flowManager?.close();
    await database?.close();
    await testDatabase?.drop();
  });

  async function instance(options: { shared: boolean }): Promise<FakeInstance> {
    const started = await startFakeInstance(newBus(), `pm-${randomUUID().slice(0, 8)}`, options);
    instances.push(started);
    return started;
  }

  /** A session started on `serving` (the only one on the shared queue), `caller` its last stored words. */
  async function sessionOn(serving: FakeInstance, caller?: string, duration?: number): Promise<{ aicallId: string; activeflowId: string }> {
    const activeflowId = randomUUID();
    flowManager.activeflows.set(activeflowId, randomUUID());
    const started = await rpcCall<{ id: string }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
      customer_id: customer.id,
      activeflow_id: activeflowId,
      assistance_id: aiId,
      reference_type: 'call',
      reference_id: flowManager.activeflows.get(activeflowId),
      ...(duration ? { duration } : {}),
    });
    expect(serving.pipelines.has(started.id)).toBe(true);
    sessions.push(started.id);
    if (caller) await report(started.id, 0, caller);
    return { aicallId: started.id, activeflowId };
  }

  const report = (aicallId: string, epoch: number, content: string) =>
    rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages', {
      customer_id: customer.id,
      aicall_id: aicallId,
      report_id: randomUUID(),
      pipeline_epoch: epoch,
      role: 'user',
      direction: 'outgoing',
      content,
    });
  /** A pipeline's report of another message (an assistant tool call, a tool result). */
  const reportMessage = (aicallId: string, message: Record<string, unknown>) =>
    rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages', { customer_id: customer.id, aicall_id: aicallId, report_id: randomUUID(), pipeline_epoch: 0, ...message });
  const row = (aicallId: string) =>
    database
      .forSchema<AiManagerTables>('ai_manager')
      .selectFrom('aicalls')
      .select(['status', 'pipeline_instance_id', 'pipeline_epoch'])
      .where('id', '=', aicallId)
      .executeTakeFirstOrThrow();
  const startsOn = (target: FakeInstance) => target.requests.filter((request) => request.method === 'POST' && request.uri === '/v1/pipelines');
  const messages = (aicallId: string) =>
    call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicallId}`, { key: customer.key }).then((response) => response.body.result as { role: string; content: string }[]);

  it('moves the session of a killed instance to a live one with its history and the apology, and fences the old pipeline', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving, 'i want to book a table');
    const spare = await instance({ shared: false });
    serving.pipelines.get(session.aicallId)!.speaking = true;
    await new Promise((resolve) => setTimeout(resolve, 200)); // Both heard.

    const killedAt = Date.now();
    await serving.kill();
    await eventually(() => spare.pipelines.get(session.aicallId), 3000);
    const movedAfterMs = Date.now() - killedAt;
    expect(movedAfterMs).toBeGreaterThanOrEqual(300);

    const start = startsOn(spare)[0]!.data as Record<string, unknown>;
    expect(start).toMatchObject({ aicall_id: session.aicallId, customer_id: customer.id, greeting: false, pipeline_epoch: 1, resume: { say: defaultResumeApology } });
    const history = start.messages as { role: string; content: string }[];
    expect(history.at(-1)).toEqual({ role: 'user', content: 'i want to book a table' });
    expect(history[0]!.role).toBe('system');
    expect(await row(session.aicallId)).toEqual({ status: 'initiating', pipeline_instance_id: spare.instanceId, pipeline_epoch: 1 });
    await eventually(() => harness.events.find((event) => event.type === 'aicall_resumed' && (event.data as { id: string }).id === session.aicallId));
    expect((await messages(session.aicallId)).filter((message) => message.role === 'notification').map((message) => message.content)).toEqual([
      expect.stringContaining('The session resumed'),
    ]);

    // Fencing: the replaced pipeline (epoch 0) is refused, the new one (epoch 1) stored.
    await expect(report(session.aicallId, 0, 'stale words')).rejects.toMatchObject({ httpStatus: 409 });
    await report(session.aicallId, 1, 'for two people');
    await expect(
      rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${session.aicallId}/tool_execute`, {
        customer_id: customer.id,
        id: 'call-1',
        name: 'stop_service',
        arguments: '{}',
        pipeline_epoch: 0,
      }),
    ).rejects.toMatchObject({ httpStatus: 409 });
    // Its usage is provider work that was done: billed all the same (once, by its id).
    const usage = { id: randomUUID(), customer_id: customer.id, aicall_id: session.aicallId, kind: 'llm', provider: 'test.model', input_tokens: 10, output_tokens: 5, pipeline_epoch: 0 };
    await expect(rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/usages', usage)).resolves.toMatchObject({ usage_id: usage.id, aicall_id: session.aicallId, usage_kind: 'llm' });
    const states = await rpcCall<{ result: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/aicalls/states', { aicalls: [{ id: session.aicallId, customer_id: customer.id }] });
    expect(states.result).toEqual([{ id: session.aicallId, status: 'initiating', pipeline_epoch: 1 }]);
    // The replaced pipeline's end does not end the session.
    await harness.bus.publish('pipeline-manager', {
      type: 'pipeline_terminated',
      data: { aicall_id: session.aicallId, call_id: randomUUID(), reason: 'superseded', error: null, pipeline_epoch: 0 },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await row(session.aicallId)).status).toBe('initiating');
    const users = (await messages(session.aicallId))
      .filter((message) => message.role === 'user')
      .map((message) => message.content)
      .reverse(); // Listed newest first.
    expect(users).toEqual(['i want to book a table', 'for two people']);
    expect(flowManager.requests.filter((request) => request.uri.endsWith('/service_stop'))).toHaveLength(0);
    // The AIcall's own events: one resumption, and it did not end.
    const aicallEvents = harness.events.filter((event) => event.type.startsWith('aicall_') && (event.data as { id: string }).id === session.aicallId).map((event) => event.type);
    expect(aicallEvents).toEqual(['aicall_status_initiating', 'aicall_resumed']);
  });

  it('gives the resumed pipeline the session\'s original deadline (ai_talk.duration), not a fresh one', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving, 'hello', 600);
    const first = startsOn(serving)[0]!.data as { deadline_at: string };
    const aicall = (await call(harness, 'GET', `/v1.0/aicalls/${session.aicallId}`, { key: customer.key })).body as { tm_create: string; duration: number };
    expect(aicall.duration).toBe(600);
    expect(Date.parse(first.deadline_at)).toBe(Date.parse(aicall.tm_create) + 600_000);
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 1200)); // Both heard; a fresh deadline would now be later.

    await serving.kill();
    await eventually(() => spare.pipelines.get(session.aicallId), 3000);
    expect((startsOn(spare)[0]!.data as { deadline_at: string }).deadline_at).toBe(first.deadline_at);
  });

  it('carries the stored tool calls with their results, and completes a call the crash left without one', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving, 'a table for two at eight, I am Ann');
    const booking = { id: 'call-1', type: 'function', function: { name: 'book_table', arguments: '{"people":2,"at":"20:00"}' } };
    const variables = { id: 'call-2', type: 'function', function: { name: 'set_variables', arguments: '{"name":"Ann"}' } };
    const sms = { id: 'call-3', type: 'function', function: { name: 'send_sms', arguments: '{"text":"Booked"}' } };
    await reportMessage(session.aicallId, { role: 'assistant', direction: 'incoming', content: '', tool_calls: [booking, variables] });
    await reportMessage(session.aicallId, { role: 'tool', direction: 'outgoing', content: '{"booked":true}', tool_call_id: 'call-1' });
    await report(session.aicallId, 0, 'by the window'); // The caller spoke while a tool ran.
    await reportMessage(session.aicallId, { role: 'tool', direction: 'outgoing', content: '{"set":true}', tool_call_id: 'call-2' });
    await reportMessage(session.aicallId, { role: 'assistant', direction: 'incoming', content: 'Booked for eight, Ann. Shall I text you?' });
    await report(session.aicallId, 0, 'yes please');
    // The text was asked for; the pipeline died before its result was stored.
    await reportMessage(session.aicallId, { role: 'assistant', direction: 'incoming', content: '', tool_calls: [sms] });
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 200)); // Both heard.

    await serving.kill();
    await eventually(() => spare.pipelines.get(session.aicallId), 3000);
    const start = startsOn(spare)[0]!.data as { messages: { role: string }[]; resume: unknown };
    expect(start.messages.filter((message) => message.role !== 'system')).toEqual([
      { role: 'user', content: 'a table for two at eight, I am Ann' },
      { role: 'assistant', content: '', tool_calls: [booking, variables] },
      { role: 'tool', tool_call_id: 'call-1', content: '{"booked":true}' },
      { role: 'tool', tool_call_id: 'call-2', content: '{"set":true}' },
      { role: 'user', content: 'by the window' },
      { role: 'assistant', content: 'Booked for eight, Ann. Shall I text you?' },
      { role: 'user', content: 'yes please' },
      { role: 'assistant', content: '', tool_calls: [sms] },
      { role: 'tool', tool_call_id: 'call-3', content: interruptedToolResult() },
    ]);
    // The caller's last words got no spoken answer (only a tool call): the apology.
    expect(start.resume).toEqual({ say: defaultResumeApology });
  });

  it('moves the session of a stalled instance (no heartbeat, no answer) without an apology when no turn was lost, and tells it to stop', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving);
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 200));
    serving.hang();
    await eventually(() => spare.pipelines.get(session.aicallId), 3000);
    expect(startsOn(spare)[0]!.data).toMatchObject({ pipeline_epoch: 1, greeting: false, resume: { say: null } });
    // When it wakes up, the stop meant for it (its epoch) is waiting.
    serving.release();
    await eventually(() => serving.requests.find((request) => request.uri === `/v1/pipelines/${session.aicallId}/stop`));
    expect(serving.requests.find((request) => request.uri === `/v1/pipelines/${session.aicallId}/stop`)!.data).toMatchObject({ pipeline_epoch: 0 });
  });

  it('moves nothing when every instance falls silent at once, as while the broker restarts', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving);
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 200));
    serving.silence();
    spare.silence();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(startsOn(spare)).toHaveLength(0);
    expect(await row(session.aicallId)).toMatchObject({ pipeline_instance_id: serving.instanceId, pipeline_epoch: 0 });
  });

  it('moves nothing from an instance whose heartbeats stop while its queue still answers', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving);
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 200));
    serving.silence();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(startsOn(spare)).toHaveLength(0);
    expect(await row(session.aicallId)).toMatchObject({ pipeline_instance_id: serving.instanceId, pipeline_epoch: 0 });
  });

  it('ends the session as before when the only other instance does not take it', async () => {
    const serving = await instance({ shared: true });
    const session = await sessionOn(serving);
    const spare = await instance({ shared: false });
    spare.refuseStarts = true;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await serving.kill();
    await eventually(async () => ((await row(session.aicallId)).status === 'terminated' ? true : undefined), 3000);
    expect(startsOn(spare)).toHaveLength(1);
    expect(flowManager.requests.filter((request) => request.uri === `/v1/activeflows/${session.activeflowId}/service_stop`)).toHaveLength(1);
    const notifications = (await messages(session.aicallId)).filter((message) => message.role === 'notification');
    expect(notifications.map((message) => message.content)).toEqual([expect.stringContaining('the voice pipeline stopped unexpectedly')]);
  });

  it("resumes a team's session with the member answering when it was lost: its voice, prompts and tools", async () => {
    const ai = async (fields: Record<string, unknown>) => (await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tts_type: 'local', ...fields }) })).body.id as string;
    const reception = await ai({ init_prompt: 'You are the receptionist.', tts_voice_id: 'en-us', tool_names: [] });
    const billing = await ai({ init_prompt: 'You are the billing clerk.', tts_voice_id: 'en-gb', tool_names: ['stop_service'] });
    const [front, back] = [randomUUID(), randomUUID()];
    const team = await call(harness, 'POST', '/v1.0/teams', {
      key: customer.key,
      body: {
        start_member_id: front,
        members: [
          { id: front, ai_id: reception, transitions: [{ function_name: 'to_billing', next_member_id: back }] },
          { id: back, name: 'Billing', ai_id: billing, transitions: [{ function_name: 'to_reception', next_member_id: front }] },
        ],
      },
    });
    const serving = await instance({ shared: true });
    const activeflowId = randomUUID();
    flowManager.activeflows.set(activeflowId, randomUUID());
    const started = await rpcCall<{ id: string }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
      customer_id: customer.id,
      activeflow_id: activeflowId,
      assistance_type: 'team',
      assistance_id: team.body.id,
      reference_type: 'call',
      reference_id: flowManager.activeflows.get(activeflowId),
    });
    sessions.push(started.id);
    await report(started.id, 0, 'a question about my bill');
    await reportMessage(started.id, { role: 'assistant', direction: 'incoming', content: 'One moment.', tool_calls: [{ id: 'call-t', type: 'function', function: { name: 'to_billing', arguments: '{}' } }] });
    const switched = await rpcCall<{ result: string }>(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${started.id}/tool_execute`, {
      customer_id: customer.id,
      id: 'call-t',
      name: 'to_billing',
      arguments: '{}',
      pipeline_epoch: 0,
    });
    expect(switched.result).toBe('success');
    await reportMessage(started.id, { role: 'tool', direction: 'outgoing', content: JSON.stringify(switched), tool_call_id: 'call-t' });
    const spare = await instance({ shared: false });
    await new Promise((resolve) => setTimeout(resolve, 200)); // Both heard.
    await serving.kill();
    await eventually(() => spare.pipelines.get(started.id), 3000);

    const start = startsOn(spare)[0]!.data as { ai: Record<string, unknown>; tools: { name: string }[]; messages: { role: string; content: string }[] };
    expect(start.ai).toMatchObject({ tts_voice_id: 'en-gb' });
    expect(start.tools.map((tool) => tool.name)).toEqual(['stop_service', 'to_reception']);
    const system = start.messages.filter((message) => message.role === 'system').map((message) => message.content);
    expect(system).toContain('You are the billing clerk.');
    expect(system).not.toContain('You are the receptionist.');
    expect(start.messages.filter((message) => message.role !== 'system').map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect((await call(harness, 'GET', `/v1.0/aicalls/${started.id}`, { key: customer.key })).body.current_member_id).toBe(back);
  });
});
