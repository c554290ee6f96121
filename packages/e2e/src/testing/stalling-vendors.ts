import type { ServerResponse } from 'node:http';
import { createLlmProvider, createTtsProvider, registryProviders } from '@avp/pipeline-manager';
import { startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import type { EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { loudnessVad, scriptedStt } from '../voice-doubles.ts';
import { aiTalkActions, useStack, type Api, type Stack, type StackMode } from './stack.ts';

const apiKey = 'sk-test-good';

function chunk(delta: object, finishReason: string | null = null) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

function streamText(response: ServerResponse, text: string): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.write(`data: ${JSON.stringify(chunk({ content: text }))}\n\n`);
  response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
  response.end('data: [DONE]\n\n');
}

export const modelOf = (request: RecordedRequest): string => (request.json as { model: string }).model;

/** A call into an AI (flow `answer, ai_talk, talk "Goodbye.", hangup`) and what the test reads of it. */
export type StallCall = Awaited<ReturnType<StallingStack['callAi']>>;

export interface StallingStack {
  stack: Stack;
  api: Api;
  /** The fake chat-completions vendor (real `openai` SDK) and the fake speech vendor. */
  llmVendor(): FakeHttpServer;
  /** Never answers: every speech request is held until the test ends. */
  speechVendor(): FakeHttpServer;
  /** Answers `answer` for the models not in `stalled`; holds the others' requests. */
  llmStalls(stalled: string[], answer?: string): void;
  callAi(fields: Record<string, unknown>): Promise<{
    caller: ReturnType<Stack['simulator']['placeCall']>;
    aicallId: string;
    activeflowId: string;
    stored(): Promise<{ role: string; content: string }[]>;
    /** `"<stage> <action>"` of the AIcall's pipeline_stall events. */
    stalls(): string[];
    terminated(): EventEnvelope | undefined;
  }>;
}

/**
 * The stack of the stall tests: all three services with the LLM at a fake OpenAI vendor
 * (models `openai.*`), TTS `openai` at a fake speech vendor that never answers and every other
 * TTS from the registry (espeak-ng for `local`), STT and VAD doubles. Call inside describeModes.
 */
export function useStallingStack(mode: StackMode, name: string): StallingStack {
  let llmVendor: FakeHttpServer;
  let speechVendor: FakeHttpServer;
  const held: ServerResponse[] = [];
  const pipelineEvents: EventEnvelope[] = [];

  beforeAll(async () => {
    llmVendor = await startFakeHttpServer();
    speechVendor = await startFakeHttpServer((_request, response) => void held.push(response));
  });
  afterEach(() => {
    for (const response of held.splice(0)) response.destroy();
  });
  afterAll(async () => {
    await llmVendor?.close();
    await speechVendor?.close();
  });

  const stack = useStack({
    mode,
    name,
    ariApp: name,
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: {
        llm: (ai) => createLlmProvider(ai, { environment: { OPENAI_BASE_URL: `${llmVendor.baseUrl}/v1`, OPENAI_API_KEY: apiKey } }),
        stt: () => scriptedStt([]),
        tts: (ai) =>
          ai.tts_type === 'openai'
            ? createTtsProvider(ai, { environment: { OPENAI_BASE_URL: `${speechVendor.baseUrl}/v1`, OPENAI_API_KEY: apiKey } })
            : registryProviders.tts(ai),
      },
    },
  });
  const api: Api = (...args) => stack.api(...args);

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: `e2e-${name}-pipeline-events` });
  });

  return {
    stack,
    api,
    llmVendor: () => llmVendor,
    speechVendor: () => speechVendor,
    llmStalls(stalled, answer = 'Hello.') {
      llmVendor.handle((request, response) => (stalled.includes(modelOf(request)) ? void held.push(response) : streamText(response, answer)));
    },
    async callAi(fields) {
      const ai = await api('POST', '/v1.0/ais', {
        name,
        engine_model: 'openai.gpt-primary',
        init_prompt: 'You are the receptionist of a clinic.',
        tts_type: 'local',
        stt_language: 'en-US',
        turn_config: { stall: { timeout_secs: 1 } },
        ...fields,
      });
      const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'Goodbye.'));
      const caller = stack.simulator.placeCall({ app: name, extension: number, callerNumber: '+15559990000' });
      await caller.waitForAnswer(10_000);
      let aicallId = '';
      let activeflowId = '';
      await eventually(async () => {
        const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; assistance_id: string; activeflow_id: string }[] };
        const aicall = aicalls.result.find((entry) => entry.assistance_id === ai.id);
        aicallId = aicall?.id ?? '';
        activeflowId = aicall?.activeflow_id ?? '';
        return aicallId !== '';
      }, 'the AIcall', 20_000);
      const ofAicall = (event: EventEnvelope) => (event.data as { aicall_id: string }).aicall_id === aicallId;
      return {
        caller,
        aicallId,
        activeflowId,
        stored: async () =>
          ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string }[] }).result.slice().reverse(),
        stalls: () =>
          pipelineEvents
            .filter((event) => event.type === 'pipeline_stall' && ofAicall(event))
            .map((event) => `${(event.data as { stage: string }).stage} ${(event.data as { action: string }).action}`),
        terminated: () => pipelineEvents.find((event) => event.type === 'pipeline_terminated' && ofAicall(event)),
      };
    },
  };
}
