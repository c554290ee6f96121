import { isAppError, rpcCall, type Aisummary, type Bus, type Logger } from '@avp/shared';
import { readEngineKey, getAi } from '../domain/ais/ai-service.ts';
import { claimAisummary, finishAisummary, type AisummaryRow } from '../domain/aisummaries/aisummary-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { summaryLanguage } from './summary-language.ts';

/** The engine that writes summaries when the request names no AI (SUMMARY_ENGINE_MODEL, SUMMARY_ENGINE_KEY). */
export interface SummaryEngine {
  engine_model: string;
  engine_key?: string;
}

export interface SummaryWriterOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The platform's default engine (default `local`, the offline extractive summariser). */
  engine?: SummaryEngine;
  /** Longest wait for pipeline-manager to write one (default 150 s: its LLM request may take 120 s). */
  writeTimeoutMs?: number;
  /** A claim older than this is a writer that died, and is taken over (default 300 s). */
  staleClaimSeconds?: number;
}

/** The variables an on-end flow starts with. */
export function onEndVariables(summary: Aisummary, language: string): Record<string, string> {
  return {
    'voipbin.ai_summary.id': summary.id,
    'voipbin.ai_summary.reference_type': summary.reference_type,
    'voipbin.ai_summary.reference_id': summary.reference_id,
    'voipbin.ai_summary.language': language,
    'voipbin.ai_summary.content': summary.content,
  };
}

/**
 * Writes a summary whose transcription is done: claims it (one writer at a time across
 * processes), reads the transcripts and the flow's variables, asks pipeline-manager's shared
 * queue (`POST /v1/summaries`) with the AI's or the platform's engine, and stores the content
 * (`done`) or why it could not be written (`failed`). A done summary with `on_end_flow_id` starts
 * that flow. Never throws: every failure ends in the record or the log.
 */
export class SummaryWriter {
  private readonly logger: Logger;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: SummaryWriterOptions) {
    this.logger = options.logger.child({ component: 'summary-writer' });
  }

  /** Writes it in the background; `idle()` waits for every write under way (shutdown, tests). */
  schedule(summaryId: string): void {
    const run = this.write(summaryId).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async write(summaryId: string): Promise<void> {
    try {
      // Only once its transcription is done: a claim taken earlier would hold the summary back.
      const ready = await this.options.domain.db
        .selectFrom('aisummaries')
        .innerJoin('transcribes', 'transcribes.id', 'aisummaries.transcribe_id')
        .select('aisummaries.id')
        .where('aisummaries.id', '=', summaryId)
        .where('transcribes.status', '=', 'done')
        .executeTakeFirst();
      if (!ready) return;
      const row = await claimAisummary(this.options.domain, summaryId, this.options.staleClaimSeconds ?? 300);
      if (!row) return; // written, deleted, or another writer holds it
      await this.writeClaimed(row);
    } catch (error) {
      this.logger.error({ err: error, summaryId }, 'a summary could not be written; the sweep tries again');
    }
  }

  private async writeClaimed(row: AisummaryRow): Promise<void> {
    const { domain } = this.options;
    const transcribe = row.transcribe_id
      ? await domain.db.selectFrom('transcribes').select(['language', 'status']).where('id', '=', row.transcribe_id).where('customer_id', '=', row.customer_id).executeTakeFirst()
      : undefined;
    if (!transcribe) {
      await this.fail(row, 'The transcription to summarise is gone.');
      return;
    }
    const transcripts = await domain.db
      .selectFrom('transcripts')
      .select(['direction', 'message', 'offset_ms'])
      .where('transcribe_id', '=', row.transcribe_id!)
      .where('customer_id', '=', row.customer_id)
      .where('tm_delete', 'is', null)
      .orderBy('offset_ms')
      .orderBy('tm_create')
      .execute();
    const variables = await this.flowVariables(row);
    const language = summaryLanguage(row.language, variables, transcribe.language);
    let engine: SummaryEngine;
    try {
      engine = await this.engine(row);
    } catch (error) {
      await this.fail(row, isAppError(error) && error.httpStatus === 404 ? 'The AI that was to write the summary is gone.' : messageOf(error));
      return;
    }
    let content: string;
    try {
      const reply = await rpcCall<{ content: string }>(
        this.options.bus,
        'pipeline-manager',
        'POST',
        '/v1/summaries',
        {
          customer_id: row.customer_id,
          summary_id: row.id,
          ai: engine,
          language,
          transcripts: transcripts.map((entry) => ({ direction: entry.direction, text: entry.message, offset_ms: entry.offset_ms })),
          variables,
        },
        { publisher: this.options.serviceName, timeoutMs: this.options.writeTimeoutMs ?? 150_000 },
      );
      content = reply.content;
    } catch (error) {
      await this.fail(row, `The summary could not be written: ${messageOf(error)}`);
      return;
    }
    const done = await finishAisummary(domain, row.id, { status: 'done', content });
    if (!done) return;
    this.logger.info({ summaryId: row.id, engine: engine.engine_model, characters: content.length }, 'summary done');
    if (done.on_end_flow_id) await this.startOnEndFlow(done, language);
  }

  /** The AI's engine and key when the summary names one (it must still be the customer's), else the platform's. */
  private async engine(row: AisummaryRow): Promise<SummaryEngine> {
    if (!row.ai_id) return this.options.engine ?? { engine_model: 'local' };
    const ai = await getAi(this.options.domain, row.customer_id, row.ai_id);
    const key = await readEngineKey(this.options.domain, row.customer_id, ai.id);
    return { engine_model: ai.engine_model, ...(key ? { engine_key: key } : {}) };
  }

  /** The activeflow's variables (the customer's only); none when there is no activeflow or it cannot be read. */
  private async flowVariables(row: AisummaryRow): Promise<Record<string, string>> {
    if (!row.activeflow_id) return {};
    try {
      const reply = await callFlowManager<{ variables: Record<string, string> }>(this.options, row.customer_id, 'GET', `/v1/variables/${row.activeflow_id}`);
      return reply.variables ?? {};
    } catch (error) {
      this.logger.warn({ err: error, summaryId: row.id, activeflowId: row.activeflow_id }, 'summary: the flow variables could not be read; writing without them');
      return {};
    }
  }

  private async startOnEndFlow(summary: Aisummary, language: string): Promise<void> {
    try {
      await rpcCall(
        this.options.bus,
        'flow-manager',
        'POST',
        '/v1/activeflows',
        { customer_id: summary.customer_id, flow_id: summary.on_end_flow_id, reference_type: 'ai', reference_id: summary.id, variables: onEndVariables(summary, language) },
        { publisher: this.options.serviceName, timeoutMs: 10_000 },
      );
    } catch (error) {
      this.logger.warn({ err: error, summaryId: summary.id, flowId: summary.on_end_flow_id }, 'summary: the on-end flow could not start');
    }
  }

  private async fail(row: AisummaryRow, reason: string): Promise<void> {
    this.logger.warn({ summaryId: row.id, reason }, 'summary failed');
    await finishAisummary(this.options.domain, row.id, { status: 'failed', reason });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
