import { appError, isAppError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { fallbackLlmAi } from '../providers/fallback.ts';
import type { LlmMessage, LlmProvider, LlmToolCall } from '../providers/types.ts';
import { historyMessageSchema, pipelineStartSchema, toLlmHistory, type ProviderSource } from '../sessions/pipeline-start.ts';
import { providerFailure } from '../sessions/provider-start.ts';

/**
 * `POST /v1/text_turns` (shared queue): one answer in a text conversation (SMS, LINE, a text
 * AIcall over the API). Stateless: the history comes with the request, so any process takes
 * any message of a conversation.
 */
export const textTurnSchema = z.object({
  aicall_id: z.uuid(),
  customer_id: z.uuid(),
  /** ai-manager's id of this answer: tool calls carry it, and are refused once a newer message superseded it. */
  turn_id: z.uuid(),
  ai: pipelineStartSchema.shape.ai,
  /** System prompts and the conversation so far, the message to answer last. */
  messages: z.array(historyMessageSchema).min(1),
  tools: pipelineStartSchema.shape.tools,
  /** Most LLM requests one answer may take (each tool round is one more). */
  max_llm_requests: z.number().int().min(1).max(20).default(6),
});
export type TextTurnRequest = z.infer<typeof textTurnSchema>;

/** What a text turn answers: the text to send (empty when the AI said nothing), and the end of the session a tool asked for. */
export interface TextTurnReply {
  turn_id: string;
  /** What the AI wrote in this turn, to send (its text beside tool calls too); empty when it said nothing. */
  text: string;
  /** The last LLM response's text when it made no tool call: the answer to store (what came with tool calls is stored already). */
  final_text: string;
  /** `stop_service` when the AI ended the conversation. */
  end_session: string | null;
  /** True when a newer message superseded this turn while it ran (its tools were refused): the text is not to be sent. */
  superseded: boolean;
  llm_requests: number;
  provider: string;
}

export interface TextTurnsOptions {
  bus: Bus;
  logger: Logger;
  providers: ProviderSource;
  serviceName: string;
  /** Longest wait for an LLM's first output before it is tried again, then on the fallback (default 15 s). */
  firstOutputTimeoutMs?: number;
  /** Longest one LLM request may take in all (default 60 s). */
  requestTimeoutMs?: number;
}

/** One LLM response, collected. */
interface LlmResponse {
  text: string;
  toolCalls: LlmToolCall[];
  inputTokens: number;
  outputTokens: number;
}

/** The request timed out before the LLM's first output (tried again, then on the fallback). */
class FirstOutputTimeout extends Error {}

/**
 * Answers text messages with the AI's LLM and tools. Every LLM request's usage is reported to
 * ai-manager (billed once by its id, also when the answer is dropped); each tool call and its
 * result are stored through ai-manager before the next request, so the side effect of a tool is
 * in the history whatever happens to the answer. The answer itself goes back in the reply:
 * ai-manager sends it only if no newer message came meanwhile.
 */
export class TextTurns {
  private readonly logger: Logger;
  private running = 0;

  constructor(private readonly options: TextTurnsOptions) {
    this.logger = options.logger.child({ component: 'text-turns' });
  }

  /** Text turns under way in this process. */
  get size(): number {
    return this.running;
  }

  async answer(request: TextTurnRequest): Promise<TextTurnReply> {
    // The AIcall must be the named customer's (404 like a missing one): its engine key and tools act for them.
    await rpcCall(this.options.bus, 'ai-manager', 'GET', `/v1/aicalls/${request.aicall_id}?customer_id=${request.customer_id}`, undefined, {
      publisher: this.options.serviceName,
      timeoutMs: 5000,
    });
    this.running++;
    const startedAt = Date.now();
    try {
      const reply = await this.run(request);
      this.logger.info(
        { aicallId: request.aicall_id, turnId: request.turn_id, llmRequests: reply.llm_requests, characters: reply.text.length, superseded: reply.superseded, ms: Date.now() - startedAt },
        'text answer',
      );
      return reply;
    } finally {
      this.running--;
    }
  }

  private async run(request: TextTurnRequest): Promise<TextTurnReply> {
    const history: LlmMessage[] = toLlmHistory(request.messages);
    const main = providerFailure(() => this.options.providers.llm(request.ai, history));
    const fallbackAi = fallbackLlmAi(request.ai);
    let fallback: LlmProvider | undefined;
    if (fallbackAi) {
      try {
        fallback = this.options.providers.llm(fallbackAi, history);
      } catch (error) {
        this.logger.warn({ aicallId: request.aicall_id, err: error }, `the fallback LLM ${fallbackAi.engine_model} is not available`);
      }
    }
    const texts: string[] = [];
    let endSession: string | null = null;
    let llmRequests = 0;
    let provider = main.name;
    let finalText = '';
    while (llmRequests < request.max_llm_requests) {
      llmRequests++;
      const { response, used } = await this.request(request, main, fallback, history);
      provider = used.name;
      await this.reportUsage(request, used.name, response);
      if (response.text.trim() !== '') texts.push(response.text.trim());
      if (response.toolCalls.length === 0) {
        history.push({ role: 'assistant', content: response.text });
        finalText = response.text.trim();
        break;
      }
      history.push({ role: 'assistant', content: response.text, toolCalls: response.toolCalls });
      await this.storeMessage(request, {
        role: 'assistant',
        direction: 'incoming',
        content: response.text,
        tool_calls: response.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
      });
      let runAgain = false;
      for (const call of response.toolCalls) {
        const outcome = await this.executeTool(request, call);
        if (outcome === 'superseded') return { turn_id: request.turn_id, text: '', final_text: '', end_session: null, superseded: true, llm_requests: llmRequests, provider };
        history.push({ role: 'tool', toolCallId: call.id, name: call.name, content: outcome.result });
        await this.storeMessage(request, { role: 'tool', direction: 'outgoing', content: outcome.result, tool_call_id: call.id });
        runAgain ||= outcome.runLlm;
        endSession ??= outcome.endSession ?? null;
      }
      if (endSession || !runAgain) break;
    }
    return { turn_id: request.turn_id, text: texts.join('\n\n'), final_text: finalText, end_session: endSession, superseded: false, llm_requests: llmRequests, provider };
  }

  /**
   * One LLM request: on the main LLM, tried once more when it gives no first output in time or
   * fails with a retryable error, then on the fallback when the AI has one.
   */
  private async request(request: TextTurnRequest, main: LlmProvider, fallback: LlmProvider | undefined, history: LlmMessage[]): Promise<{ response: LlmResponse; used: LlmProvider }> {
    const attempts: LlmProvider[] = [main, main, ...(fallback ? [fallback] : [])];
    let lastError: unknown;
    for (const [index, llm] of attempts.entries()) {
      try {
        return { response: await this.collect(llm, request, history), used: llm };
      } catch (error) {
        lastError = error;
        const retryable = error instanceof FirstOutputTimeout || (error as { retryable?: boolean }).retryable === true;
        this.logger.warn({ aicallId: request.aicall_id, provider: llm.name, attempt: index + 1, err: error }, 'text answer: LLM request failed');
        // A refused key or a bad request fails the same way again: only the fallback can help.
        if (!retryable && index === 0 && fallback) {
          try {
            return { response: await this.collect(fallback, request, history), used: fallback };
          } catch (fallbackError) {
            lastError = fallbackError;
          }
          break;
        }
        if (!retryable) break;
      }
    }
    const message = lastError instanceof Error ? lastError.message : String(lastError);
    throw appError('PROVIDER_ERROR', `The LLM gave no answer: ${message}`);
  }

  private async collect(llm: LlmProvider, request: TextTurnRequest, history: LlmMessage[]): Promise<LlmResponse> {
    const controller = new AbortController();
    const firstOutputMs = this.options.firstOutputTimeoutMs ?? 15_000;
    let gotOutput = false;
    let timedOutFirst = false;
    const firstTimer = setTimeout(() => {
      if (gotOutput) return;
      timedOutFirst = true;
      controller.abort(new FirstOutputTimeout(`no output from ${llm.name} within ${firstOutputMs} ms`));
    }, firstOutputMs);
    const totalTimer = setTimeout(() => controller.abort(new Error(`${llm.name} took longer than ${this.options.requestTimeoutMs ?? 60_000} ms`)), this.options.requestTimeoutMs ?? 60_000);
    const response: LlmResponse = { text: '', toolCalls: [], inputTokens: 0, outputTokens: 0 };
    // A provider slow to notice the abort must not hold the answer up: the wait ends with it.
    const aborted = new Promise<never>((_resolve, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true }));
    aborted.catch(() => undefined);
    try {
      const consume = async () => {
        for await (const event of llm.stream({ messages: history, tools: request.tools, signal: controller.signal })) {
          if (controller.signal.aborted) break;
          gotOutput = true;
          if (event.type === 'text-delta') response.text += event.text;
          else if (event.type === 'tool-call') response.toolCalls.push({ id: event.id, name: event.name, arguments: event.arguments });
          else if (event.type === 'usage') {
            response.inputTokens += event.inputTokens;
            response.outputTokens += event.outputTokens;
          }
        }
      };
      await Promise.race([consume(), aborted]);
      return response;
    } catch (error) {
      if (timedOutFirst) throw new FirstOutputTimeout(`no output from ${llm.name} within ${firstOutputMs} ms`);
      if (controller.signal.aborted && controller.signal.reason instanceof Error) throw controller.signal.reason;
      throw error;
    } finally {
      clearTimeout(firstTimer);
      clearTimeout(totalTimer);
    }
  }

  /** The tool through ai-manager; `superseded` when a newer message took the conversation over (409). */
  private async executeTool(request: TextTurnRequest, call: LlmToolCall): Promise<'superseded' | { result: string; runLlm: boolean; endSession?: string }> {
    try {
      const reply = await rpcCall<{ result?: string; message?: string; run_llm?: boolean; end_session?: string }>(
        this.options.bus,
        'ai-manager',
        'POST',
        `/v1/aicalls/${request.aicall_id}/tool_execute`,
        { customer_id: request.customer_id, id: call.id, name: call.name, arguments: call.arguments, text_turn_id: request.turn_id },
        { publisher: this.options.serviceName, timeoutMs: 30_000 },
      );
      return { result: JSON.stringify(reply), runLlm: reply.run_llm ?? true, ...(reply.end_session ? { endSession: reply.end_session } : {}) };
    } catch (error) {
      if (isAppError(error) && error.httpStatus === 409) return 'superseded';
      return { result: JSON.stringify({ result: 'failed', message: error instanceof Error ? error.message : String(error) }), runLlm: true };
    }
  }

  /** A tool call or result into the AIcall's stored history (retried a little: the tool ran, its record must not be lost). */
  private async storeMessage(request: TextTurnRequest, message: Record<string, unknown>): Promise<void> {
    const body = { customer_id: request.customer_id, aicall_id: request.aicall_id, report_id: randomUUID(), ...message };
    await this.retried('message', request, () => rpcCall(this.options.bus, 'ai-manager', 'POST', '/v1/aimessages', body, { publisher: this.options.serviceName, timeoutMs: 5000 }));
  }

  /** Usage of one LLM request (LLM tokens only: a text conversation uses no STT or TTS). */
  private async reportUsage(request: TextTurnRequest, provider: string, response: LlmResponse): Promise<void> {
    const usage = { id: randomUUID(), customer_id: request.customer_id, aicall_id: request.aicall_id, kind: 'llm', provider, input_tokens: response.inputTokens, output_tokens: response.outputTokens };
    await this.retried('usage', request, () => rpcCall(this.options.bus, 'ai-manager', 'POST', '/v1/usages', usage, { publisher: this.options.serviceName, timeoutMs: 5000 }));
  }

  /** Three tries a second apart for what must reach ai-manager; a 4xx is final (logged). */
  private async retried(kind: string, request: TextTurnRequest, send: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await send();
        return;
      } catch (error) {
        const final = isAppError(error) && error.httpStatus < 500;
        if (final || attempt >= 3) {
          this.logger.warn({ aicallId: request.aicall_id, kind, err: error }, 'text answer: could not report to ai-manager');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}
