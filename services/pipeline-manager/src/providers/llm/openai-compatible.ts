import OpenAI, { AzureOpenAI } from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmRequest, LlmToolDefinition } from '../types.ts';

/** Settings of one OpenAI-compatible endpoint. */
export interface OpenAiCompatibleOptions {
  /** `engine_model` provider name: openai, groq, ollama, ... */
  provider: string;
  model: string;
  apiKey: string;
  baseUrl: string;
  /** Azure: the `api-version` query parameter; the model is the deployment name. */
  azureApiVersion?: string;
  /** Some servers reject `stream_options`; usage then stays unreported. Default true. */
  includeUsage?: boolean;
  /** For tests: a fetch implementation. */
  fetch?: typeof fetch;
}

/** openai, azure and every OpenAI-compatible API, through the official SDK. */
export function createOpenAiCompatibleLlm(options: OpenAiCompatibleOptions): LlmProvider {
  const common = { apiKey: options.apiKey, maxRetries: 0, timeout: 10 * 60_000, fetch: options.fetch };
  const client =
    options.provider === 'azure'
      ? new AzureOpenAI({
          ...common,
          endpoint: options.baseUrl,
          apiVersion: options.azureApiVersion ?? '2024-10-21',
          deployment: options.model,
        })
      : new OpenAI({ ...common, baseURL: options.baseUrl });
  return {
    name: `${options.provider}.${options.model}`,
    stream: (request) => streamChat(client, options, request),
  };
}

export function toOpenAiMessages(messages: LlmMessage[]): ChatCompletionMessageParam[] {
  return messages.map((message): ChatCompletionMessageParam => {
    switch (message.role) {
      case 'system':
      case 'user':
        return { role: message.role, content: message.content };
      case 'assistant':
        return message.toolCalls?.length
          ? {
              role: 'assistant',
              content: message.content || null,
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: { name: call.name, arguments: call.arguments },
              })),
            }
          : { role: 'assistant', content: message.content };
      case 'tool':
        return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
    }
  });
}

export function toOpenAiTools(tools: LlmToolDefinition[]): ChatCompletionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

function finishReasonOf(reason: string | null | undefined): LlmFinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}

async function* streamChat(client: OpenAI, options: OpenAiCompatibleOptions, request: LlmRequest): AsyncIterable<LlmEvent> {
  const stream = await client.chat.completions.create(
    {
      model: options.model,
      messages: toOpenAiMessages(request.messages),
      ...(request.tools?.length ? { tools: toOpenAiTools(request.tools) } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.maxOutputTokens !== undefined ? { max_tokens: request.maxOutputTokens } : {}),
      stream: true,
      ...(options.includeUsage === false ? {} : { stream_options: { include_usage: true } }),
    },
    { signal: request.signal },
  );
  // Tool calls stream by index: the first delta carries id and name, later ones argument text.
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let finishReason: string | null | undefined;
  let usage: ChatCompletionChunk['usage'];
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      const delta = choice.delta;
      if (delta?.content) yield { type: 'text-delta', text: delta.content };
      for (const part of delta?.tool_calls ?? []) {
        // Some servers (older ollama) omit `index` and send each call whole.
        const index = (part.index as number | undefined) ?? calls.size;
        let call = calls.get(index);
        if (!call) {
          call = { id: part.id ?? `call_${index}`, name: part.function?.name ?? '', arguments: '' };
          calls.set(index, call);
          yield { type: 'tool-call-start', id: call.id, name: call.name };
        }
        const fragment = part.function?.arguments;
        if (fragment) {
          call.arguments += fragment;
          yield { type: 'tool-call-delta', id: call.id, argumentsDelta: fragment };
        }
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  }
  for (const call of calls.values()) {
    yield { type: 'tool-call', id: call.id, name: call.name, arguments: call.arguments || '{}' };
  }
  if (usage) yield { type: 'usage', inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
  yield { type: 'done', finishReason: calls.size > 0 && finishReason !== 'length' ? 'tool-calls' : finishReasonOf(finishReason) };
}
