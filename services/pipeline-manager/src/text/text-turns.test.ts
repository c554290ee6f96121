import { appError, createInProcessBus, createRpcRouter, silentLogger, type Bus } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeLlm, words } from '../pipeline/testing/fakes.ts';
import type { LlmEvent, LlmProvider } from '../providers/types.ts';
import type { ProviderSource } from '../sessions/pipeline-start.ts';
import { TextTurns, textTurnSchema } from './text-turns.ts';

const aicallId = randomUUID();
const customerId = randomUUID();

function toolCall(id: string, name: string, args: object = {}): [number, LlmEvent][] {
  return [
    [0, { type: 'text-delta', text: `Calling ${name}.` }],
    [0, { type: 'tool-call', id, name, arguments: JSON.stringify(args) }],
    [0, { type: 'usage', inputTokens: 20, outputTokens: 3 }],
    [0, { type: 'done', finishReason: 'tool-calls' }],
  ];
}

/** ai-manager as the text turn sees it on the bus: records what it is told, answers tool calls. */
function aiManagerStandIn(bus: Bus, options: { supersededAfter?: number } = {}) {
  const seen = { tools: [] as Record<string, unknown>[], messages: [] as Record<string, unknown>[], usages: [] as Record<string, unknown>[] };
  const router = createRpcRouter()
    .add('GET', '/v1/aicalls/:id', async ({ params, query }) => {
      if (params.id !== aicallId || query.get('customer_id') !== customerId) throw appError('RESOURCE_NOT_FOUND', 'No AIcall.');
      return { id: aicallId, customer_id: customerId };
    })
    .add('POST', '/v1/aicalls/:id/tool_execute', async ({ data }) => {
      seen.tools.push(data as Record<string, unknown>);
      if (options.supersededAfter !== undefined && seen.tools.length > options.supersededAfter) throw appError('INVALID_STATE', 'superseded');
      const name = (data as { name: string }).name;
      return name === 'stop_service' ? { result: 'success', run_llm: false, end_session: 'stop_service' } : { result: 'success', message: `${name} done`, run_llm: true };
    })
    .add('POST', '/v1/aimessages', async ({ data }) => {
      seen.messages.push(data as Record<string, unknown>);
      return { id: randomUUID() };
    })
    .add('POST', '/v1/usages', async ({ data }) => {
      seen.usages.push(data as Record<string, unknown>);
      return {};
    });
  return { seen, serve: () => bus.serve('ai-manager', router.handle) };
}

function request(messages: { role: 'system' | 'user'; content: string }[]) {
  return textTurnSchema.parse({
    aicall_id: aicallId,
    customer_id: customerId,
    turn_id: randomUUID(),
    ai: { engine_model: 'fake.llm' },
    messages,
    tools: [
      { name: 'set_variables', description: 'x', parameters: {} },
      { name: 'stop_service', description: 'x', parameters: {} },
    ],
  });
}

describe('TextTurns', () => {
  let bus: Bus;
  beforeEach(() => {
    bus = createInProcessBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  const turnsWith = (llm: LlmProvider, fallback?: LlmProvider, timeouts: { firstOutputTimeoutMs?: number } = {}) => {
    const providers: ProviderSource = {
      llm: (ai) => (ai.engine_model === 'fake.fallback' && fallback ? fallback : llm),
      stt: () => {
        throw new Error('no STT in text');
      },
      tts: () => {
        throw new Error('no TTS in text');
      },
    };
    return new TextTurns({ bus, logger: silentLogger(), providers, serviceName: 'pipeline-manager', ...timeouts });
  };

  it('answers with the text, running tool rounds through ai-manager and storing each call and result', async () => {
    const standIn = aiManagerStandIn(bus);
    const server = await standIn.serve();
    const llm = new FakeLlm([toolCall('call_1', 'set_variables', { variables: { name: 'Ada' } }), words('Saved, Ada.')]);
    const turn = request([{ role: 'system', content: 'prompt' }, { role: 'user', content: 'I am Ada' }]);
    const reply = await turnsWith(llm).answer(turn);
    await server.close();

    expect(reply).toMatchObject({ text: 'Calling set_variables.\n\nSaved, Ada.', final_text: 'Saved, Ada.', end_session: null, superseded: false, llm_requests: 2 });
    expect(standIn.seen.tools).toEqual([expect.objectContaining({ name: 'set_variables', text_turn_id: turn.turn_id, customer_id: customerId })]);
    expect(standIn.seen.messages.map((message) => message.role)).toEqual(['assistant', 'tool']);
    expect(standIn.seen.messages[0]).toMatchObject({ content: 'Calling set_variables.', tool_calls: [{ id: 'call_1', function: { name: 'set_variables' } }] });
    expect(standIn.seen.messages[1]).toMatchObject({ tool_call_id: 'call_1' });
    // Every LLM request is billed, LLM tokens only.
    expect(standIn.seen.usages.map((usage) => [usage.kind, usage.input_tokens])).toEqual([
      ['llm', 20],
      ['llm', 10],
    ]);
    // The second request saw the tool's result.
    expect(llm.requests[1]!.at(-1)).toMatchObject({ role: 'tool', toolCallId: 'call_1' });
  });

  it('ends the session when stop_service is called, with the goodbye to send', async () => {
    const standIn = aiManagerStandIn(bus);
    const server = await standIn.serve();
    const reply = await turnsWith(new FakeLlm([toolCall('call_2', 'stop_service')])).answer(request([{ role: 'user', content: 'bye' }]));
    await server.close();
    expect(reply).toMatchObject({ text: 'Calling stop_service.', final_text: '', end_session: 'stop_service', llm_requests: 1 });
  });

  it('stops at once, sending nothing, when ai-manager refuses a tool call because a newer message superseded the turn', async () => {
    const standIn = aiManagerStandIn(bus, { supersededAfter: 0 });
    const server = await standIn.serve();
    const llm = new FakeLlm([toolCall('call_3', 'set_variables'), words('never asked')]);
    const reply = await turnsWith(llm).answer(request([{ role: 'user', content: 'hi' }]));
    await server.close();
    expect(reply).toMatchObject({ superseded: true, text: '' });
    expect(llm.requests).toHaveLength(1);
    // The refused call is not stored as a result; its usage still is.
    expect(standIn.seen.messages.map((message) => message.role)).toEqual(['assistant']);
    expect(standIn.seen.usages).toHaveLength(1);
  });

  it('tries a silent LLM again, then the fallback', async () => {
    const standIn = aiManagerStandIn(bus);
    const server = await standIn.serve();
    const silent = new FakeLlm([[[5000, { type: 'text-delta', text: 'late' }]], [[5000, { type: 'text-delta', text: 'late' }]]]);
    const fallback = new FakeLlm([words('From the fallback.')]);
    const turn = textTurnSchema.parse({ ...request([{ role: 'user', content: 'hi' }]), ai: { engine_model: 'fake.main', fallback_engine_model: 'fake.fallback' } });
    const reply = await turnsWith(silent, fallback, { firstOutputTimeoutMs: 100 }).answer(turn);
    await server.close();
    expect(silent.requests).toHaveLength(2);
    expect(reply).toMatchObject({ text: 'From the fallback.', superseded: false });
  });

  it("refuses (404) a turn for another customer's AIcall before any LLM request", async () => {
    const standIn = aiManagerStandIn(bus);
    const server = await standIn.serve();
    const llm = new FakeLlm([words('never')]);
    const turn = textTurnSchema.parse({ ...request([{ role: 'user', content: 'hi' }]), customer_id: randomUUID() });
    await expect(turnsWith(llm).answer(turn)).rejects.toMatchObject({ httpStatus: 404 });
    await server.close();
    expect(llm.requests).toHaveLength(0);
  });

  it('fails with PROVIDER_ERROR when no LLM answers', async () => {
    const standIn = aiManagerStandIn(bus);
    const server = await standIn.serve();
    const broken = new FakeLlm([new Error('boom'), new Error('boom')]);
    await expect(turnsWith(broken).answer(request([{ role: 'user', content: 'hi' }]))).rejects.toMatchObject({ reason: 'PROVIDER_ERROR' });
    await server.close();
  });
});
