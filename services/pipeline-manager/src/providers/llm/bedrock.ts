import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ContentBlock,
  type Message,
  type Tool,
  type ToolInputSchema,
} from '@aws-sdk/client-bedrock-runtime';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmRequest } from '../types.ts';

/** The SDK's JSON document type (from @smithy/types, not a direct dependency). */
type DocumentType = NonNullable<ToolInputSchema.JsonMember['json']>;

export interface BedrockOptions {
  /** Bedrock model or inference profile id, e.g. `anthropic.claude-3-5-haiku-20241022-v1:0`. */
  model: string;
  region: string;
  /** Explicit credentials; without them the AWS default chain (environment, profile, role) is used. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Endpoint override (a proxy, a VPC endpoint, a test server). */
  baseUrl?: string;
}

/** `engine_key` for aws: `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`. */
export function parseAwsKey(key: string): BedrockOptions['credentials'] | undefined {
  const [accessKeyId, secretAccessKey, ...rest] = key.split(':');
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(rest.length ? { sessionToken: rest.join(':') } : {}) };
}

/** Amazon Bedrock through the Converse stream API (`@aws-sdk/client-bedrock-runtime`). */
export function createBedrockLlm(options: BedrockOptions): LlmProvider {
  const client = new BedrockRuntimeClient({
    region: options.region,
    maxAttempts: 1,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.baseUrl ? { endpoint: options.baseUrl } : {}),
  });
  return {
    name: `aws.${options.model}`,
    stream: (request) => streamConverse(client, options, request),
  };
}

/** System messages go to `system`; tool results are user `toolResult` blocks; same-role turns merge. */
export function toBedrockMessages(messages: LlmMessage[]): { system: string[]; messages: Message[] } {
  const system: string[] = [];
  const result: Message[] = [];
  const append = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = result.at(-1);
    if (last?.role === role) last.content = [...(last.content ?? []), ...blocks];
    else result.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        append('user', [{ text: message.content }]);
        break;
      case 'assistant':
        append('assistant', [
          ...(message.content ? [{ text: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({
            toolUse: { toolUseId: call.id, name: call.name, input: parseDocument(call.arguments) },
          })),
        ]);
        break;
      case 'tool':
        append('user', [{ toolResult: { toolUseId: message.toolCallId, content: [{ text: message.content }] } }]);
        break;
    }
  }
  return { system, messages: result };
}

function parseDocument(text: string): DocumentType {
  try {
    return JSON.parse(text || '{}') as DocumentType;
  } catch {
    return {};
  }
}

function finishReasonOf(reason: string | undefined): LlmFinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content-filter';
    default:
      return 'other';
  }
}

async function* streamConverse(client: BedrockRuntimeClient, options: BedrockOptions, request: LlmRequest): AsyncIterable<LlmEvent> {
  const { system, messages } = toBedrockMessages(request.messages);
  const tools: Tool[] | undefined = request.tools?.map((tool) => ({
    toolSpec: { name: tool.name, description: tool.description, inputSchema: { json: tool.parameters as DocumentType } },
  }));
  const response = await client.send(
    new ConverseStreamCommand({
      modelId: options.model,
      messages,
      ...(system.length ? { system: system.map((text) => ({ text })) } : {}),
      ...(tools?.length ? { toolConfig: { tools } } : {}),
      ...(request.temperature !== undefined || request.maxOutputTokens !== undefined
        ? { inferenceConfig: { temperature: request.temperature, maxTokens: request.maxOutputTokens } }
        : {}),
    }),
    { abortSignal: request.signal },
  );
  const calls = new Map<number, { id: string; name: string; arguments: string }>();
  let stopReason: string | undefined;
  let usage: { inputTokens: number; outputTokens: number } | undefined;
  for await (const event of response.stream ?? []) {
    if (event.contentBlockStart?.start?.toolUse) {
      const start = event.contentBlockStart.start.toolUse;
      const call = { id: start.toolUseId ?? '', name: start.name ?? '', arguments: '' };
      calls.set(event.contentBlockStart.contentBlockIndex ?? calls.size, call);
      yield { type: 'tool-call-start', id: call.id, name: call.name };
    } else if (event.contentBlockDelta?.delta) {
      const delta = event.contentBlockDelta.delta;
      if (delta.text) yield { type: 'text-delta', text: delta.text };
      const call = calls.get(event.contentBlockDelta.contentBlockIndex ?? -1);
      if (delta.toolUse?.input && call) {
        call.arguments += delta.toolUse.input;
        yield { type: 'tool-call-delta', id: call.id, argumentsDelta: delta.toolUse.input };
      }
    } else if (event.contentBlockStop) {
      const call = calls.get(event.contentBlockStop.contentBlockIndex ?? -1);
      if (call) yield { type: 'tool-call', id: call.id, name: call.name, arguments: call.arguments || '{}' };
    } else if (event.messageStop) {
      stopReason = event.messageStop.stopReason;
    } else if (event.metadata?.usage) {
      usage = { inputTokens: event.metadata.usage.inputTokens ?? 0, outputTokens: event.metadata.usage.outputTokens ?? 0 };
    } else {
      // Exceptions inside the stream (throttling, model errors) arrive as members of the union.
      const exception =
        event.internalServerException ??
        event.modelStreamErrorException ??
        event.throttlingException ??
        event.validationException ??
        event.serviceUnavailableException;
      if (exception) throw exception;
    }
  }
  if (usage) yield { type: 'usage', ...usage };
  yield { type: 'done', finishReason: finishReasonOf(stopReason) };
}
