import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam, Tool } from '@anthropic-ai/sdk/resources/messages/messages';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmRequest } from '../types.ts';

export interface AnthropicOptions {
  model: string;
  apiKey: string;
  baseUrl: string;
  /** Anthropic requires max_tokens; used when the request sets none. */
  defaultMaxOutputTokens?: number;
}

/** Claude through `@anthropic-ai/sdk` (Messages API, streamed). */
export function createAnthropicLlm(options: AnthropicOptions): LlmProvider {
  // This SDK version sends the key as `Authorization: Bearer`; the `x-api-key` header is what
  // the public API documents, so both go out.
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: 10 * 60_000,
    defaultHeaders: { 'x-api-key': options.apiKey },
  });
  return {
    name: `anthropic.${options.model}`,
    stream: (request) => streamMessages(client, options, request),
  };
}

/**
 * System messages become the `system` parameter; tool results are user turns of
 * `tool_result` blocks; consecutive turns of one role are merged, as the API requires.
 */
export function toAnthropicMessages(messages: LlmMessage[]): { system: string; messages: MessageParam[] } {
  const system: string[] = [];
  const result: MessageParam[] = [];
  const append = (role: 'user' | 'assistant', blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = result.at(-1);
    if (last?.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else result.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        append('user', [{ type: 'text', text: message.content }]);
        break;
      case 'assistant':
        append('assistant', [
          ...(message.content ? [{ type: 'text' as const, text: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({
            type: 'tool_use' as const,
            id: call.id,
            name: call.name,
            input: parseArguments(call.arguments),
          })),
        ]);
        break;
      case 'tool':
        append('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
        break;
    }
  }
  return { system: system.join('\n\n'), messages: result };
}

function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function finishReasonOf(reason: string | null | undefined): LlmFinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      return 'other';
  }
}

async function* streamMessages(client: Anthropic, options: AnthropicOptions, request: LlmRequest): AsyncIterable<LlmEvent> {
  const { system, messages } = toAnthropicMessages(request.messages);
  const tools: Tool[] | undefined = request.tools?.map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.parameters as Tool['input_schema'],
  }));
  const stream = await client.messages.create(
    {
      model: options.model,
      max_tokens: request.maxOutputTokens ?? options.defaultMaxOutputTokens ?? 1024,
      messages,
      ...(system ? { system } : {}),
      ...(tools?.length ? { tools } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      stream: true,
    },
    { signal: request.signal },
  );
  const blocks = new Map<number, { id: string; name: string; arguments: string }>();
  let inputTokens = 0;
  let outputTokens = 0;
  let stopReason: string | null | undefined;
  for await (const event of stream) {
    switch (event.type) {
      case 'message_start':
        inputTokens = event.message.usage.input_tokens + (event.message.usage.cache_read_input_tokens ?? 0);
        outputTokens = event.message.usage.output_tokens;
        break;
      case 'content_block_start':
        if (event.content_block.type === 'tool_use') {
          const call = { id: event.content_block.id, name: event.content_block.name, arguments: '' };
          blocks.set(event.index, call);
          yield { type: 'tool-call-start', id: call.id, name: call.name };
        } else if (event.content_block.type === 'text' && event.content_block.text) {
          yield { type: 'text-delta', text: event.content_block.text };
        }
        break;
      case 'content_block_delta':
        if (event.delta.type === 'text_delta') {
          yield { type: 'text-delta', text: event.delta.text };
        } else if (event.delta.type === 'input_json_delta') {
          const call = blocks.get(event.index);
          if (call && event.delta.partial_json) {
            call.arguments += event.delta.partial_json;
            yield { type: 'tool-call-delta', id: call.id, argumentsDelta: event.delta.partial_json };
          }
        }
        break;
      case 'content_block_stop': {
        const call = blocks.get(event.index);
        if (call) yield { type: 'tool-call', id: call.id, name: call.name, arguments: call.arguments || '{}' };
        break;
      }
      case 'message_delta':
        stopReason = event.delta.stop_reason;
        outputTokens = event.usage.output_tokens;
        break;
      case 'message_stop':
        break;
    }
  }
  yield { type: 'usage', inputTokens, outputTokens };
  yield { type: 'done', finishReason: finishReasonOf(stopReason) };
}
