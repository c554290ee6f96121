import type { ServerResponse } from 'node:http';
import { sendJsonError, startFakeHttpServer, type FakeHttpServer, type RecordedRequest } from './fake-http-server.ts';

/** A chat message as the OpenAI SDK sends it. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string | null;
  tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

/** One chat-completions request, as the scenario handler sees it. */
export interface LlmTurn {
  request: RecordedRequest;
  messages: ChatMessage[];
  /** The messages without system prompts. */
  conversation: ChatMessage[];
  /** The last non-system message (undefined for the greeting). */
  last: ChatMessage | undefined;
  /** The last user message's text, lower-cased ('' for none). */
  lastUser: string;
  /** The offered tools' names. */
  tools: string[];
  /** The JSON result of the last tool message, when the last message is a tool result. */
  toolResult: Record<string, unknown> | undefined;
  /** Aborted when the client closes the connection (barge-in, hang-up). */
  signal: AbortSignal;
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** What the fake answers: text, tool calls, or both (text first); `delayMs` between chunks. */
export interface LlmReply {
  text?: string;
  toolCalls?: ToolCall[];
  /** Pause between text chunks (default 5 ms). */
  delayMs?: number;
  /** Stall this long after the first tool-call chunk, before its arguments (a slow tool-triggering turn). */
  toolStallMs?: number;
  /** Answer with an HTTP error instead. */
  error?: { status: number; body: unknown };
}

export type LlmScenario = (turn: LlmTurn) => LlmReply | Promise<LlmReply>;

/**
 * A fake OpenAI chat-completions vendor for the pipeline-manager process (its real `openai`
 * SDK is pointed here with OPENAI_BASE_URL). Each AI gets its own model name, and the
 * scenario registered for that model decides every answer from the conversation, so tests
 * and concurrent calls never share a script. Requests are recorded per model.
 */
export interface FakeLlm {
  readonly baseUrl: string;
  /** The key the platform's environment gives the LLM (OPENAI_API_KEY). */
  readonly goodKey: string;
  /** Registers the scenario of `model` (the part after `openai.`). */
  script(model: string, scenario: LlmScenario): void;
  /** The requests made for `model`, oldest first. */
  requests(model: string): LlmTurn[];
  close(): Promise<void>;
}

let chunkCounter = 0;

function chunk(model: string, delta: object, finishReason: string | null = null): string {
  const body = { id: `chatcmpl-${++chunkCounter}`, object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finishReason }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

async function streamReply(response: ServerResponse, model: string, reply: LlmReply, signal: AbortSignal): Promise<void> {
  if (reply.error) {
    sendJsonError(response, reply.error.status, reply.error.body);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const write = (text: string) => {
    if (!signal.aborted) response.write(text);
  };
  write(chunk(model, { role: 'assistant', content: '' }));
  for (const word of (reply.text ?? '').split(/(?<= )/).filter(Boolean)) {
    write(chunk(model, { content: word }));
    await sleep(reply.delayMs ?? 5, signal);
  }
  for (const [index, call] of (reply.toolCalls ?? []).entries()) {
    const id = `call_${++chunkCounter}`;
    write(chunk(model, { tool_calls: [{ index, id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    if (reply.toolStallMs) await sleep(reply.toolStallMs, signal);
    write(chunk(model, { tool_calls: [{ index, function: { arguments: JSON.stringify(call.arguments) } }] }));
  }
  write(chunk(model, {}, reply.toolCalls?.length ? 'tool_calls' : 'stop'));
  write(`data: ${JSON.stringify({ id: 'usage', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })}\n\n`);
  if (!signal.aborted) response.end('data: [DONE]\n\n');
}

export async function startFakeLlm(): Promise<FakeLlm> {
  const scenarios = new Map<string, LlmScenario>();
  const turns = new Map<string, LlmTurn[]>();
  const goodKey = 'sk-acceptance-good';
  const server: FakeHttpServer = await startFakeHttpServer();
  server.handle(async (request, response) => {
    const body = request.json as { model?: string; messages?: ChatMessage[]; tools?: { function: { name: string } }[] } | undefined;
    const model = body?.model ?? '';
    const scenario = scenarios.get(model);
    if (!request.url.endsWith('/chat/completions') || !body || !scenario) {
      sendJsonError(response, 404, { error: { message: `The model ${model} does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
      return;
    }
    const controller = new AbortController();
    response.on('close', () => controller.abort());
    const messages = body.messages ?? [];
    const conversation = messages.filter((message) => message.role !== 'system');
    const last = conversation.at(-1);
    let toolResult: Record<string, unknown> | undefined;
    if (last?.role === 'tool' && typeof last.content === 'string') {
      try {
        toolResult = JSON.parse(last.content) as Record<string, unknown>;
      } catch {
        toolResult = undefined;
      }
    }
    const turn: LlmTurn = {
      request,
      messages,
      conversation,
      last,
      lastUser: (conversation.filter((message) => message.role === 'user').at(-1)?.content ?? '').toLowerCase(),
      tools: (body.tools ?? []).map((tool) => tool.function.name),
      toolResult,
      signal: controller.signal,
    };
    const list = turns.get(model) ?? [];
    list.push(turn);
    turns.set(model, list);
    if (request.headers.authorization !== `Bearer ${goodKey}`) {
      sendJsonError(response, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }
    await streamReply(response, model, await scenario(turn), controller.signal);
  });
  return {
    baseUrl: server.baseUrl,
    goodKey,
    script: (model, scenario) => void scenarios.set(model, scenario),
    requests: (model) => turns.get(model) ?? [],
    close: () => server.close(),
  };
}
