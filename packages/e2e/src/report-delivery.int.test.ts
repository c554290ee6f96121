import { registryProviders } from '@avp/pipeline-manager';
import { appError, type Bus, type RpcRequest } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { aiTalkActions, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** The routes the pipeline reports the conversation on (tool_execute is a question, not a report). */
const isReport = (uri: string) => uri === '/v1/aimessages' || uri === '/v1/aimessages/intermediate' || uri === '/v1/usages' || /^\/v1\/aicalls\/[^/]+\/status$/.test(uri);

interface Delivery {
  /** Attempts per idempotency key (`report_id`, or a usage's `id`). */
  attempts: Map<string, number>;
  /** What reached ai-manager, in order: stored messages and tool executions. */
  log: string[];
}

/**
 * pipeline-manager's view of the bus, where every report to ai-manager fails twice before it
 * goes through: the first attempt never reaches ai-manager (as while the broker restarts), the
 * second is stored but its reply is lost (as on a timeout), the third is answered.
 */
function failingEveryReportTwice(bus: Bus, delivery: Delivery): Bus {
  return new Proxy(bus, {
    get(target, property, receiver) {
      if (property === 'request') {
        return async (service: string, request: RpcRequest, options?: Parameters<Bus['request']>[2]) => {
          if (service !== 'ai-manager' || !isReport(request.uri)) {
            if (request.uri.endsWith('/tool_execute')) delivery.log.push(`tool ${(request.data as { name: string }).name}`);
            return target.request(service, request, options);
          }
          const data = request.data as { report_id?: string; id?: string; role?: string; content?: string; tool_calls?: { function: { name: string } }[] };
          const key = data.report_id ?? data.id ?? '';
          const attempt = (delivery.attempts.get(key) ?? 0) + 1;
          delivery.attempts.set(key, attempt);
          if (attempt === 1) throw appError('SERVICE_UNAVAILABLE', 'Not connected to the message bus (test).');
          const reply = await target.request(service, request, options);
          if (attempt === 2) {
            if (request.uri === '/v1/aimessages') delivery.log.push(`stored ${data.role} ${data.tool_calls?.map((call) => call.function.name).join(',') ?? ''}`.trim());
            throw appError('RPC_TIMEOUT', 'The reply was lost (test).');
          }
          return reply;
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Reports from a pipeline to ai-manager are delivered at least once and stored exactly once,
 * in order: a whole conversation (greeting, the caller's answer, a tool, the goodbye and
 * stop_service) where every report fails twice is stored as if nothing had failed.
 */
await describeModes('reports from the pipeline survive failures: stored once each, in order', (mode) => {
  const delivery: Delivery = { attempts: new Map(), log: [] };
  const stack = useStack({
    mode,
    name: 'report-delivery',
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) },
      reports: { firstRetryDelayMs: 50, maxRetryDelayMs: 200 },
    },
    busFor: (service, bus) => (service === 'pipeline-manager' ? failingEveryReportTwice(bus, delivery) : bus),
  });
  const api: Api = (...args) => stack.api(...args);

  it('stores every message of a call once and in order, though every report was sent three times', async () => {
    const script = {
      script: [
        { say: 'Hello. What is your name?' },
        { wait: 'answer', into: 'name' },
        { tool: 'set_variables', arguments: { variables: { caller_name: '${name}' } } },
        { say: 'Thank you, ${name}. Goodbye.' },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', scriptedAi(script, { tool_names: ['set_variables', 'stop_service'] }));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'Back in the flow, ${caller_name}.'));
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558882000' });
    await caller.waitForAudio(20_000);
    await caller.waitForSilence(20_000);
    const aicall = () => api('GET', '/v1.0/aicalls').then((list) => (list.result as { id: string; status: string; activeflow_id: string }[])[0]!);
    const stored = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${(await aicall()).id}`)).result as { role: string; content: string; tool_calls: { function: { name: string } }[] }[]).reverse();
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    expect((await aicall()).status).toBe('progressing'); // The status report, too, went through.
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await caller.waitForHangup(60_000);
    const { id, activeflow_id: activeflowId } = await aicall();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${id}`)).status === 'terminated', 'the AIcall to end', 20_000);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end', 20_000);

    const messages = await stored();
    expect(messages.map((message) => [message.role, message.role === 'system' ? '' : message.content])).toEqual([
      ['system', ''],
      ['system', ''],
      ['assistant', 'Hello. What is your name?'],
      ['user', 'Ada'],
      ['assistant', ''],
      ['tool', expect.stringContaining('success')],
      ['assistant', 'Thank you, Ada. Goodbye.'],
      ['tool', expect.stringContaining('success')],
    ]);
    expect(messages.flatMap((message) => message.tool_calls.map((call) => call.function.name))).toEqual(['set_variables', 'stop_service']);
    // Every report was tried three times with one key, and each tool ran only after the message
    // that asked for it was stored.
    expect([...delivery.attempts.values()].every((count) => count === 3)).toBe(true);
    expect(delivery.attempts.size).toBeGreaterThan(8);
    expect(delivery.log).toEqual(['stored assistant', 'stored user', 'stored assistant set_variables', 'tool set_variables', 'stored tool', 'stored assistant stop_service', 'tool stop_service', 'stored tool']);
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action', variables: expect.objectContaining({ caller_name: 'Ada' }) });
  }, 120_000);
});
