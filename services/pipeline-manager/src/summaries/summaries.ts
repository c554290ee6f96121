import { appError, isAppError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import type { LlmProvider } from '../providers/types.ts';
import type { ProviderSource } from '../sessions/pipeline-start.ts';
import { providerFailure } from '../sessions/provider-start.ts';
import { localSummary } from './local-summariser.ts';
import { hasSpokenWords, noContentSentence, summaryMessages, type SummaryRequest } from './summary-request.ts';

/** What `POST /v1/summaries` answers. */
export interface SummaryReply {
  summary_id: string;
  content: string;
  /** The engine that wrote it: `<provider>.<model>`, `local`, or `none` when there was nothing to summarise. */
  provider: string;
}

export interface SummariesOptions {
  bus: Bus;
  logger: Logger;
  providers: ProviderSource;
  serviceName: string;
  /** Longest the LLM may take to write one summary (SUMMARY_REQUEST_TIMEOUT_MS, default 120 s). */
  requestTimeoutMs?: number;
}

/**
 * Writes summaries of transcriptions: one LLM request with the transcripts and the flow's
 * variables (its tokens are billed to the customer through ai-manager's `POST /v1/usages`, with
 * no AIcall), or the offline extractive summariser for `local`. Empty input is answered with
 * the no-content sentence and costs nothing.
 */
export class Summaries {
  private readonly logger: Logger;

  constructor(private readonly options: SummariesOptions) {
    this.logger = options.logger.child({ component: 'summaries' });
  }

  async write(request: SummaryRequest): Promise<SummaryReply> {
    const startedAt = Date.now();
    const reply = await this.run(request);
    this.logger.info({ summaryId: request.summary_id, provider: reply.provider, characters: reply.content.length, ms: Date.now() - startedAt }, 'summary written');
    return reply;
  }

  private async run(request: SummaryRequest): Promise<SummaryReply> {
    if (!hasSpokenWords(request.transcripts)) return { summary_id: request.summary_id, content: noContentSentence, provider: 'none' };
    const model = request.ai.engine_model;
    if (model === 'local' || model.startsWith('local.')) return { summary_id: request.summary_id, content: localSummary(request), provider: 'local' };
    const messages = summaryMessages(request);
    const ai = { engine_model: model, engine_key: request.ai.engine_key, tts_type: '', tts_voice_id: '', stt_type: '', stt_language: '', parameter: request.ai.parameter };
    const llm = providerFailure(() => this.options.providers.llm(ai, messages));
    const { text, inputTokens, outputTokens } = await this.collect(llm, request);
    await this.reportUsage(request, llm.name, inputTokens, outputTokens);
    const content = text.trim();
    if (content === '') throw appError('PROVIDER_ERROR', `${llm.name} answered with no text.`);
    return { summary_id: request.summary_id, content, provider: llm.name };
  }

  /** The one LLM request, collected; its failure (or taking too long) is a PROVIDER_ERROR naming the provider's answer. */
  private async collect(llm: LlmProvider, request: SummaryRequest): Promise<{ text: string; inputTokens: number; outputTokens: number }> {
    const timeoutMs = this.options.requestTimeoutMs ?? 120_000;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`${llm.name} took longer than ${timeoutMs} ms`)), timeoutMs);
    const result = { text: '', inputTokens: 0, outputTokens: 0 };
    try {
      for await (const event of llm.stream({ messages: summaryMessages(request), signal: controller.signal })) {
        if (event.type === 'text-delta') result.text += event.text;
        else if (event.type === 'usage') {
          result.inputTokens += event.inputTokens;
          result.outputTokens += event.outputTokens;
        }
      }
      if (controller.signal.aborted) throw controller.signal.reason as Error;
      return result;
    } catch (error) {
      if (isAppError(error)) throw error;
      const reason = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : error;
      const message = reason instanceof Error ? reason.message : String(reason);
      this.logger.warn({ summaryId: request.summary_id, provider: llm.name, err: reason }, 'summary: LLM request failed');
      throw appError('PROVIDER_ERROR', `The LLM gave no summary: ${message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The request's tokens, billed to the customer (no AIcall); three tries a second apart, a 4xx is final (logged). */
  private async reportUsage(request: SummaryRequest, provider: string, inputTokens: number, outputTokens: number): Promise<void> {
    const usage = { id: randomUUID(), customer_id: request.customer_id, kind: 'llm', provider, input_tokens: inputTokens, output_tokens: outputTokens };
    for (let attempt = 1; ; attempt++) {
      try {
        await rpcCall(this.options.bus, 'ai-manager', 'POST', '/v1/usages', usage, { publisher: this.options.serviceName, timeoutMs: 5000 });
        return;
      } catch (error) {
        if ((isAppError(error) && error.httpStatus < 500) || attempt >= 3) {
          this.logger.warn({ summaryId: request.summary_id, err: error }, 'summary: could not report usage to ai-manager');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}
