import { randomUUID } from 'node:crypto';
import { registryProviders } from '@avp/pipeline-manager';
import { FakeLlm, words } from '@avp/pipeline-manager/testing';
import { appError, createRpcRouter, rpcCall, type Bus, type EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

const customerId = randomUUID();
const key = `key-${randomUUID()}`;

/**
 * A voice AI call across the services: flow-manager answers a simulated call and runs
 * `ai_talk`; a stand-in for ai-manager's session start asks pipeline-manager for a pipeline;
 * the pipeline takes the call's audio over RTP external media, greets (espeak-ng), hears the
 * caller, answers, calls the stop_service tool, and the flow goes on after `ai_talk`.
 */
await describeModes('a voice AI session across flow-manager and pipeline-manager', (mode) => {
  const stored: { role: string; content: string; tool_call_id?: string }[] = [];
  const statuses: string[] = [];
  const pipelineEvents: EventEnvelope[] = [];
  const toolCalls: { name: string; arguments: string }[] = [];

  function aiManagerStandIn(bus: Bus) {
    // ai-manager's part, reduced to what this test needs: keys, session start, records, tools.
    const sessionActivity = new Map<string, string>();
    return createRpcRouter()
      // ai-manager's AI directory, asked when a flow naming an AI is saved: every AI is the customer's here.
      .add('GET', '/v1/ais/:id', async ({ params }) => ({ id: params.id }))
      .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId };
      })
      .add('POST', '/v1/services/type/aicall', async ({ data }) => {
        const body = data as { activeflow_id: string; reference_id: string };
        const aicallId = randomUUID();
        sessionActivity.set(aicallId, body.activeflow_id);
        await rpcCall(bus, 'pipeline-manager', 'POST', '/v1/pipelines', {
          aicall_id: aicallId,
          customer_id: customerId,
          activeflow_id: body.activeflow_id,
          call_id: body.reference_id,
          ai: { engine_model: 'test.fake', tts_type: 'local', stt_language: 'en-US' },
          messages: [{ role: 'system', content: 'You are a test receptionist.' }],
          tools: [{ name: 'stop_service', description: 'Ends the AI conversation.', parameters: { type: 'object', properties: {} } }],
        }, { timeoutMs: 20_000 });
        return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
      })
      .add('POST', '/v1/aicalls/:id/status', async ({ data }) => {
        statuses.push((data as { status: string }).status);
        return {};
      })
      .add('POST', '/v1/aimessages', async ({ data }) => {
        stored.push(data as (typeof stored)[number]);
        return {};
      })
      .add('POST', '/v1/aimessages/intermediate', async () => ({}))
      .add('POST', '/v1/usages', async () => ({}))
      .add('POST', '/v1/aicalls/:id/tool_execute', async ({ params, data }) => {
        const call = data as { id: string; name: string; arguments: string };
        toolCalls.push({ name: call.name, arguments: call.arguments });
        await rpcCall(bus, 'flow-manager', 'POST', `/v1/activeflows/${sessionActivity.get(params.id!)}/service_stop`, { customer_id: customerId, service_id: params.id });
        return { tool_call_id: call.id, result: 'success', message: 'The AI session ends; the flow goes on.', run_llm: false, end_session: 'stop_service' };
      }).handle;
  }

  const stack = useStack({
    mode,
    name: 'voice-session',
    ariApp: `avp-${randomUUID().slice(0, 8)}`,
    aiManagerStandIn,
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: {
        llm: () =>
          new FakeLlm([
            words('Hello, this is the test clinic. How can I help?'),
            [
              { type: 'text-delta', text: 'Goodbye, I will hand you back now. ' },
              { type: 'tool-call', id: 'call-1', name: 'stop_service', arguments: '{}' },
              { type: 'done', finishReason: 'tool-calls' },
            ],
          ]),
        stt: () => scriptedStt(['I would like to stop now.']),
        tts: (ai) => registryProviders.tts(ai),
      },
    },
  });
  const api: Api = (...args) => stack.apiAs(key)(...args);

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-pipeline-events' });
  });

  it('greets, listens, answers, runs a tool and hands the call back to the flow', async () => {
    const number = await stack.numberWithFlow(aiTalkActions(randomUUID(), 'You are back in the flow. Goodbye.'), api);

    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15557770000' });
    await caller.waitForAnswer(10_000);
    await caller.waitForAudio(20_000); // The AI's greeting, spoken by espeak-ng over RTP.
    await caller.waitForSilence(20_000);
    await eventually(() => stored.some((message) => message.role === 'assistant'), 'the greeting to be stored');

    // The caller speaks; the STT double recognises it after the pause.
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await eventually(() => toolCalls.length === 1, 'the stop_service tool call', 20_000);
    await caller.waitForHangup(30_000);

    expect(statuses).toContain('progressing');
    expect(stored.map((message) => message.role)).toEqual(['assistant', 'user', 'assistant', 'tool']);
    expect(stored[0]!.content).toBe('Hello, this is the test clinic. How can I help?');
    expect(stored[1]!.content).toBe('I would like to stop now.');
    await eventually(() => pipelineEvents.some((event) => event.type === 'pipeline_terminated'), 'the pipeline to end');
    expect(pipelineEvents.find((event) => event.type === 'pipeline_terminated')!.data).toMatchObject({ reason: 'stop_service' });
    expect(pipelineEvents.some((event) => event.type === 'pipeline_turn_latency')).toBe(true);

    // The flow went on after ai_talk: the talk and the hangup ran, the media leg is gone.
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const call = calls.result.find((entry) => entry.channel_id === caller.id)!;
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).toMatchObject({ end_reason: 'hangup action' });
    expect(stack.simulator.channels().filter((channel) => channel.name.startsWith('UnicastRTP'))).toEqual([]);
    expect(stack.pipelineManager.sessions.size).toBe(0);
  }, 90_000);
});
