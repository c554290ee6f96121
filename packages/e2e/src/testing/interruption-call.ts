import type { ServerResponse } from 'node:http';
import type { CallerOptions } from '@avp/asterisk-simulator';
import { createLlmProvider, registryProviders, type ConversationVad, type SttEvent, type SttProvider } from '@avp/pipeline-manager';
import { AsyncQueue, frameRms, loudnessVad } from '@avp/pipeline-manager/testing';
import { startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import type { Bus, EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll } from 'vitest';
import { aiTalkActions, useStack, type Api, type StackMode } from './stack.ts';

/** A tone the VAD and STT doubles take for speech (the caller's voice). */
export const speech = (seconds: number): Int16Array =>
  Int16Array.from({ length: Math.round(16_000 * seconds) }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One stretch of caller sound as the STT double "recognises" it: nothing (noise), or words. */
export type Heard = { final: string; interim?: string } | null;

/**
 * An STT double: each stretch of loud audio (the caller's tone, RMS > 1500; the bot's echo at
 * -20 dB is not loud) takes the next scripted result: an interim result after 100 ms of it,
 * the final and an endpoint after 200 ms of quiet; `null` is noise (nothing recognised).
 */
export function scriptedUtterances(script: Heard[]): SttProvider {
  return {
    name: 'test.stt',
    async start() {
      const events = new AsyncQueue<SttEvent>();
      let loud = 0;
      let quiet = 0;
      let current: Heard | undefined;
      return {
        events,
        write(pcm) {
          if (frameRms(pcm) > 1500) {
            if (loud === 0) current = script.shift();
            loud++;
            quiet = 0;
            if (loud === 5 && current?.interim) events.push({ type: 'interim', text: current.interim });
            return;
          }
          quiet++;
          if (loud >= 5 && quiet === 10) {
            loud = 0;
            if (current) {
              events.push({ type: 'final', text: current.final });
              events.push({ type: 'endpoint' });
            }
            current = undefined;
          }
        },
        finish: async () => events.end(),
        close: () => events.end(),
      };
    },
  };
}

function chunk(delta: object, finishReason: string | null = null) {
  return { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}

/** Streams `text` word by word as chat completion chunks. */
export async function streamText(response: ServerResponse, text: string): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const word of text.split(/(?<= )/)) {
    response.write(`data: ${JSON.stringify(chunk({ content: word }))}\n\n`);
    await sleep(5);
  }
  response.write(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
  response.end('data: [DONE]\n\n');
}

/** Streams `text`, then one tool call. */
export function streamToolCall(response: ServerResponse, text: string, call: { id: string; name: string; arguments: string }): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.write(`data: ${JSON.stringify(chunk({ content: text }))}\n\n`);
  const toolCall = { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
  response.write(`data: ${JSON.stringify(chunk({ tool_calls: [toolCall] }))}\n\n`);
  response.write(`data: ${JSON.stringify(chunk({}, 'tool_calls'))}\n\n`);
  response.end('data: [DONE]\n\n');
}

export type ChatMessage = { role: string; content: string | null; tool_calls?: { id: string }[]; tool_call_id?: string };
export const messagesOf = (request: RecordedRequest): ChatMessage[] => (request.json as { messages: ChatMessage[] }).messages;
export const lastUser = (request: RecordedRequest): string => messagesOf(request).filter((message) => message.role === 'user').at(-1)?.content ?? '';

/**
 * A stack for the interruption tests: the LLM through the real `openai` SDK at a fake vendor,
 * espeak-ng speech, a loudness VAD double sensitive enough to hear the bot's echo (RMS 200),
 * counting its speech starts, and the scripted STT above. Tool calls on their way to ai-manager
 * are counted, and held `delayToolsMs` (a slow booking).
 */
export function useInterruptionStack(mode: StackMode, name: string, options: { delayToolsMs?: number } = {}) {
  let vendor: FakeHttpServer | undefined;
  const script: Heard[] = [];
  const vad = { starts: 0 };
  const tools = { calls: 0 };
  const pipelineEvents: EventEnvelope[] = [];
  beforeAll(async () => {
    vendor = await startFakeHttpServer();
  });
  afterAll(async () => {
    await vendor?.close();
  });
  const countingVad = (): ConversationVad => {
    const inner = loudnessVad({ startFrames: 5, stopMs: 300, threshold: 200 });
    return {
      async process(frame) {
        const events = await inner.process(frame);
        vad.starts += events.filter((event) => event.type === 'user-started-speaking').length;
        return events;
      },
    };
  };
  const stack = useStack({
    mode,
    name,
    ariApp: name,
    busFor: (service, bus) => (service === 'pipeline-manager' ? watchingTools(bus, tools, options.delayToolsMs ?? 0) : bus),
    pipelineManager: {
      createVad: async () => countingVad(),
      providers: {
        ...registryProviders,
        llm: (ai) =>
          createLlmProvider(ai, {
            environment: { OPENAI_BASE_URL: `${vendor!.baseUrl}/v1`, OPENAI_API_KEY: 'sk-test-good' },
            resilience: { maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1, connectTimeoutMs: 2000, firstEventTimeoutMs: 5000, idleTimeoutMs: 5000 },
          }),
        stt: () => scriptedUtterances(script),
      },
    },
  });
  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: `e2e-${name}-pipeline-events` });
  });
  const api: Api = (...args) => stack.api(...args);

  /** An AI on the fake vendor, a flow `answer, ai_talk, hangup`, and a call into it. */
  async function callAi(fields: Record<string, unknown> = {}, callerOptions: CallerOptions = {}) {
    const ai = await api('POST', '/v1.0/ais', { name, engine_model: 'openai.gpt-test', init_prompt: 'You are a clinic receptionist.', tts_type: 'local', stt_language: 'en-US', ...fields });
    const number = await stack.numberWithFlow(aiTalkActions(ai.id));
    const caller = stack.simulator.placeCall({ app: name, extension: number, callerNumber: '+15559990000', callerOptions });
    await caller.waitForAnswer(10_000);
    let aicallId = '';
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
      const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)?.activeflow_id;
      if (!activeflowId) return false;
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      aicallId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
      return aicallId !== '';
    }, 'the AIcall', 20_000);
    const stored = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string; tool_call_id?: string }[] }).result
        .slice()
        .reverse();
    const storedAs = (role: string, content: string) =>
      eventually(async () => (await stored()).some((message) => message.role === role && message.content === content), `"${content}" to be stored`, 20_000);
    const bargeIns = () => pipelineEvents.filter((event) => event.type === 'pipeline_barge_in' && (event.data as { aicall_id: string }).aicall_id === aicallId);
    const hangUp = async () => {
      caller.hangup();
      await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
    };
    return { caller, aicallId, stored, storedAs, bargeIns, hangUp };
  }

  return {
    stack,
    api,
    vad,
    /** Tool calls pipeline-manager sent to ai-manager. */
    tools,
    /** What the STT double recognises next, stretch by stretch. */
    script,
    vendor: () => vendor!,
    callAi,
  };
}

/** The bus as pipeline-manager sees it: tool calls counted, and held `delayMs` on their way. */
function watchingTools(bus: Bus, tools: { calls: number }, delayMs: number): Bus {
  return {
    request: async (service, request, options) => {
      if (request.uri.includes('/tool_execute')) {
        tools.calls++;
        await sleep(delayMs);
      }
      return bus.request(service, request, options);
    },
    serve: (service, handler, options) => bus.serve(service, handler, options),
    publish: (publisher, event) => bus.publish(publisher, event),
    subscribe: (publisher, eventTypes, handler, options) => bus.subscribe(publisher, eventTypes, handler, options),
    isHealthy: () => bus.isHealthy(),
    close: () => bus.close(),
  };
}
