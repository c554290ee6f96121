import { GoogleGenAI, type Content, type FunctionDeclaration, type Part } from '@google/genai';
import type { LlmEvent, LlmFinishReason, LlmMessage, LlmProvider, LlmRequest } from '../types.ts';

export interface GeminiOptions {
  model: string;
  apiKey: string;
  /** `https://generativelanguage.googleapis.com` or a proxy. */
  baseUrl: string;
}

/** Gemini (Google AI Studio API) through `@google/genai`, streamed over SSE. */
export function createGeminiLlm(options: GeminiOptions): LlmProvider {
  const client = new GoogleGenAI({
    apiKey: options.apiKey,
    // v1beta is where function calling with JSON Schema lives; pinned so a custom base URL keeps it.
    httpOptions: { baseUrl: options.baseUrl, apiVersion: 'v1beta', retryOptions: { attempts: 1 } },
  });
  return {
    name: `gemini.${options.model}`,
    stream: (request) => streamGemini(client, options, request),
  };
}

/** System messages become `systemInstruction`; tool results are `functionResponse` parts. */
export function toGeminiContents(messages: LlmMessage[]): { systemInstruction: string; contents: Content[] } {
  const system: string[] = [];
  const contents: Content[] = [];
  const append = (role: 'user' | 'model', parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last?.role === role) last.parts = [...(last.parts ?? []), ...parts];
    else contents.push({ role, parts });
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
        append('model', [
          ...(message.content ? [{ text: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({ functionCall: { id: call.id, name: call.name, args: parseObject(call.arguments) } })),
        ]);
        break;
      case 'tool':
        append('user', [{ functionResponse: { id: message.toolCallId, name: message.name, response: { result: message.content } } }]);
        break;
    }
  }
  return { systemInstruction: system.join('\n\n'), contents };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function finishReasonOf(reason: string | undefined): LlmFinishReason {
  switch (reason) {
    case 'STOP':
      return 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
      return 'content-filter';
    default:
      return 'other';
  }
}

async function* streamGemini(client: GoogleGenAI, options: GeminiOptions, request: LlmRequest): AsyncIterable<LlmEvent> {
  const { systemInstruction, contents } = toGeminiContents(request.messages);
  const functionDeclarations: FunctionDeclaration[] | undefined = request.tools?.map((tool) => ({
    name: tool.name,
    description: tool.description,
    parametersJsonSchema: tool.parameters,
  }));
  const stream = await client.models.generateContentStream({
    model: options.model,
    contents,
    config: {
      ...(systemInstruction ? { systemInstruction } : {}),
      ...(functionDeclarations?.length ? { tools: [{ functionDeclarations }] } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
      abortSignal: request.signal,
    },
  });
  let finishReason: string | undefined;
  let usage: { inputTokens: number; outputTokens: number } | undefined;
  let calls = 0;
  for await (const chunk of stream) {
    const candidate = chunk.candidates?.[0];
    for (const part of candidate?.content?.parts ?? []) {
      if (part.thought) continue;
      if (part.text) yield { type: 'text-delta', text: part.text };
      if (part.functionCall) {
        // Gemini sends each call whole; it still goes out as start / delta / call.
        const id = part.functionCall.id ?? `gemini_call_${calls}`;
        const name = part.functionCall.name ?? '';
        const args = JSON.stringify(part.functionCall.args ?? {});
        calls++;
        yield { type: 'tool-call-start', id, name };
        yield { type: 'tool-call-delta', id, argumentsDelta: args };
        yield { type: 'tool-call', id, name, arguments: args };
      }
    }
    if (candidate?.finishReason) finishReason = candidate.finishReason;
    if (chunk.usageMetadata) {
      usage = {
        inputTokens: chunk.usageMetadata.promptTokenCount ?? 0,
        outputTokens: (chunk.usageMetadata.candidatesTokenCount ?? 0) + (chunk.usageMetadata.thoughtsTokenCount ?? 0),
      };
    }
  }
  if (usage) yield { type: 'usage', ...usage };
  yield { type: 'done', finishReason: calls > 0 ? 'tool-calls' : finishReasonOf(finishReason) };
}
