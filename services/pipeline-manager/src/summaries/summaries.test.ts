import { createInProcessBus, createRpcRouter, rpcCall, silentLogger, type Bus, type Subscription } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registryProviders } from '../app.ts';
import { createLlmProvider } from '../providers/registry.ts';
import { startFakeLlm, type FakeLlm } from '../providers/testing/fake-openai-llm.ts';
import { PipelineSessions } from '../sessions/pipeline-sessions.ts';
import { createPipelineRpcRouter } from '../sessions/rpc-routes.ts';
import { Summaries } from './summaries.ts';
import { noContentSentence } from './summary-request.ts';

const customerId = randomUUID();

/**
 * `POST /v1/summaries` on the bus, with the real OpenAI SDK pointed at a fake chat-completions
 * vendor on 127.0.0.1 (the key comes with the request, as an AI's engine_key does), and
 * ai-manager's usage route standing in on the bus.
 */
describe('POST /v1/summaries', () => {
  let llm: FakeLlm;
  let bus: Bus;
  let servers: Subscription[];
  let usages: Record<string, unknown>[];
  beforeAll(async () => {
    llm = await startFakeLlm();
  });
  afterAll(async () => {
    await llm.close();
  });
  beforeEach(async () => {
    bus = createInProcessBus();
    usages = [];
    const providers = { ...registryProviders, llm: (ai: { engine_model: string; engine_key?: string }) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llm.baseUrl}/v1` } }) };
    const sessions = new PipelineSessions({ bus, logger: silentLogger(), instanceId: 'pm-1', providers });
    const summaries = new Summaries({ bus, logger: silentLogger(), providers, serviceName: 'pipeline-manager' });
    const router = createPipelineRpcRouter(sessions, { serviceName: 'pipeline-manager', instanceId: 'pm-1' }, undefined, undefined, summaries);
    const aiManager = createRpcRouter().add('POST', '/v1/usages', async ({ data }) => {
      usages.push(data as Record<string, unknown>);
      return {};
    });
    servers = [await bus.serve('pipeline-manager', router.handle, { instanceId: 'pm-1' }), await bus.serve('ai-manager', aiManager.handle)];
  });
  afterEach(async () => {
    for (const server of servers) await server.close();
    await bus.close();
  });

  const summarise = (model: string, fields: Record<string, unknown> = {}) =>
    rpcCall<{ summary_id: string; content: string; provider: string }>(bus, 'pipeline-manager', 'POST', '/v1/summaries', {
      customer_id: customerId,
      summary_id: randomUUID(),
      ai: { engine_model: model, engine_key: llm.goodKey },
      language: 'de-DE',
      transcripts: [
        { direction: 'in', text: 'My parcel 4711 never arrived.', offset_ms: 800 },
        { direction: 'out', text: 'I will send a new one today.', offset_ms: 4200 },
      ],
      variables: { order_id: '4711' },
      ...fields,
    });

  it('sends one LLM request carrying the transcripts and the variables, answers its text and bills its tokens to the customer', async () => {
    const model = `summary-${randomUUID().slice(0, 8)}`;
    llm.script(model, () => ({ text: 'Call Type\n- Delivery complaint' }));
    const reply = await summarise(`openai.${model}`);
    expect(reply).toMatchObject({ content: 'Call Type\n- Delivery complaint', provider: `openai.${model}` });
    const requests = llm.requests(model);
    expect(requests).toHaveLength(1);
    const [system, user] = requests[0]!.messages;
    expect(system).toMatchObject({ role: 'system' });
    expect(String(system!.content)).toContain('de-DE');
    expect(user).toMatchObject({ role: 'user' });
    expect(String(user!.content)).toContain('"speaker":"caller","offset_ms":800,"text":"My parcel 4711 never arrived."');
    expect(String(user!.content)).toContain('"speaker":"agent","offset_ms":4200,"text":"I will send a new one today."');
    expect(String(user!.content)).toContain('{"order_id":"4711"}');
    expect(requests[0]!.tools).toEqual([]);
    // The fake reports 10 prompt and 5 completion tokens; no AIcall is named.
    expect(usages).toEqual([{ id: expect.any(String), customer_id: customerId, kind: 'llm', provider: `openai.${model}`, input_tokens: 10, output_tokens: 5 }]);
  });

  it('answers the no-content sentence for empty transcripts without asking the LLM or billing', async () => {
    const model = `empty-${randomUUID().slice(0, 8)}`;
    llm.script(model, () => ({ text: 'never' }));
    expect(await summarise(`openai.${model}`, { transcripts: [] })).toMatchObject({ content: noContentSentence, provider: 'none' });
    expect(llm.requests(model)).toHaveLength(0);
    expect(usages).toEqual([]);
  });

  it('writes the offline extractive summary for local, with no LLM', async () => {
    const reply = await summarise('local');
    expect(reply.provider).toBe('local');
    expect(reply.content).toContain('- Caller: My parcel 4711 never arrived.');
    expect(reply.content).toContain('- Agent: I will send a new one today.');
    expect(usages).toEqual([]);
  });

  it('fails with PROVIDER_ERROR naming the vendor\'s answer when the key is refused, billing nothing', async () => {
    const model = `refused-${randomUUID().slice(0, 8)}`;
    llm.script(model, () => ({ text: 'never' }));
    await expect(summarise(`openai.${model}`, { ai: { engine_model: `openai.${model}`, engine_key: 'sk-wrong' } })).rejects.toMatchObject({
      httpStatus: 500,
      reason: 'PROVIDER_ERROR',
      message: expect.stringMatching(/Incorrect API key/),
    });
    expect(usages).toEqual([]);
  });
});
