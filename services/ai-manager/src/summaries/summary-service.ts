import { appError, isAppError, type Aisummary, type AisummaryCreate, type Bus, type EventEnvelope, type Logger, type Subscription, type Transcribe } from '@avp/shared';
import { z } from 'zod';
import { getNamedAi } from '../domain/ais/ai-service.ts';
import { createAisummary, findAisummaryOf, findProgressingAisummaryIds, findUnwrittenAisummaryIds } from '../domain/aisummaries/aisummary-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { SummaryWriter, type SummaryWriterOptions } from './summary-writer.ts';

/**
 * What summaries need of TranscribeService: starting a transcription of a call or a stored
 * recording (both directions); it ends with `transcribe_done` (the call's hang-up, the file read).
 */
export interface SummaryTranscriptions {
  create(customerId: string, fields: { reference_type: 'call' | 'recording'; reference_id: string; language: string; direction: 'both' }): Promise<Transcribe>;
}

export interface SummaryServiceOptions extends Pick<SummaryWriterOptions, 'engine' | 'writeTimeoutMs' | 'staleClaimSeconds'> {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  transcriptions: SummaryTranscriptions;
  /** How often unwritten summaries of ended transcriptions are looked for (default 60 s; 0 = only at start). */
  sweepIntervalMs?: number;
  /** How long stopping waits for summaries being written (default 5 s). */
  stopGraceMs?: number;
}

/** What the ai_summary flow action sends (`POST /v1/services/type/summary`), its option's strings already substituted. */
export const flowSummarySchema = z.object({
  customer_id: z.uuid(),
  activeflow_id: z.uuid(),
  reference_type: z.enum(['call', 'conference', 'transcribe', 'recording']),
  /** Empty or absent with `call`: the flow's own call. */
  reference_id: z.string().max(100).optional(),
  language: z.string().max(35).default(''),
  on_end_flow_id: z.uuid().optional(),
  /** An AI of the customer's that writes the summary (its engine_model and engine_key). */
  ai_id: z.uuid().optional(),
});

/**
 * AI summaries: each summarises one transcription. A call's is its running transcription of
 * both sides (or one started for it), a transcription's is itself, a recording's one started on
 * the file. Once that transcription is done (`transcribe_done`, heard on a shared queue so one
 * instance writes each) the SummaryWriter writes it; summaries left unwritten by a crash are
 * picked up at start and by a periodic sweep.
 */
export class SummaryService {
  readonly writer: SummaryWriter;
  private readonly logger: Logger;
  private subscription: Subscription | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SummaryServiceOptions) {
    this.logger = options.logger.child({ component: 'summaries' });
    this.writer = new SummaryWriter(options);
  }

  async start(): Promise<void> {
    this.subscription = await this.options.bus.subscribe(this.options.serviceName, ['transcribe_done'], (event) => this.onTranscribeDone(event), {
      queue: `${this.options.serviceName}.summary-transcribe-done`,
    });
    void this.sweep();
    const interval = this.options.sweepIntervalMs ?? 60_000;
    if (interval > 0) {
      this.sweepTimer = setInterval(() => void this.sweep(), interval);
      this.sweepTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.subscription?.close();
    this.subscription = undefined;
    // Writes under way get a short grace: one waiting on a pipeline-manager that is gone would
    // hold the shutdown for its whole timeout. An abandoned write keeps its claim, and the sweep
    // of the next start (or of another instance) writes it once the claim is stale.
    const graceMs = this.options.stopGraceMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    const abandoned = await Promise.race([
      this.writer.idle().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (abandoned) this.logger.warn({ graceMs }, 'summaries still being written at shutdown are left to the sweep');
  }

  /**
   * `POST /v1.0/aisummaries` (and the flow action): a summary of the customer's call (live),
   * transcription or recording. Another customer's reference, flow or AI is a 404 like a missing
   * one; a second request for the same reference and language answers the first summary.
   */
  async create(customerId: string, request: AisummaryCreate & { activeflow_id?: string }): Promise<Aisummary> {
    const { domain } = this.options;
    const input = {
      ...request,
      reference_id: request.reference_id.toLowerCase(),
      ...(request.on_end_flow_id ? { on_end_flow_id: request.on_end_flow_id.toLowerCase() } : {}),
      ...(request.ai_id ? { ai_id: request.ai_id.toLowerCase() } : {}),
    };
    if (input.reference_type === 'conference') {
      throw appError('VALIDATION_FAILED', 'reference_type: conference cannot be summarised: this platform has no conferences.', {
        problems: ['reference_type: conference cannot be summarised: this platform has no conferences'],
      });
    }
    // Every id is checked first, also for a repeated request: another customer's is a 404 whatever exists.
    if (input.on_end_flow_id) {
      await callFlowManager(this.options, customerId, 'GET', `/v1/flows/${input.on_end_flow_id}`).catch((error: unknown) => {
        throw isAppError(error) && error.httpStatus === 404 ? notFound('flow') : error;
      });
    }
    // A flow's inline AI is the flow's own: not one to name here (404 like in /v1.0/ais).
    if (input.ai_id) await getNamedAi(domain, customerId, input.ai_id);
    const key = { customer_id: customerId, reference_type: input.reference_type, reference_id: input.reference_id, language: input.language };
    const existing = await findAisummaryOf(domain, key);
    if (existing) return existing;
    const transcribe = await this.transcriptionFor(customerId, input);
    const { summary, created } = await createAisummary(domain, {
      ...key,
      activeflow_id: input.activeflow_id ?? null,
      on_end_flow_id: input.on_end_flow_id ?? null,
      transcribe_id: transcribe.id,
      ai_id: input.ai_id ?? null,
    });
    if (created) {
      this.logger.info({ summaryId: summary.id, referenceType: summary.reference_type, transcribeId: transcribe.id }, 'summary requested');
      // Its transcription may be done already (a transcription given, or one that ended meanwhile).
      this.writer.schedule(summary.id);
    }
    return summary;
  }

  /**
   * The ai_summary flow action: answers at once (`push_actions: []`, the flow goes on). A summary
   * that cannot be asked for is logged and answered with no id (the flow goes on without it),
   * except another customer's reference, which is refused like a missing one.
   */
  async startFromFlow(input: z.infer<typeof flowSummarySchema>): Promise<{ id: string; type: 'ai_summary'; push_actions: [] }> {
    const customerId = input.customer_id.toLowerCase();
    const activeflowId = input.activeflow_id.toLowerCase();
    const activeflow = await callFlowManager<{ reference_type: string; reference_id: string | null }>(this.options, customerId, 'GET', `/v1/activeflows/${activeflowId}`).catch(
      (error: unknown) => {
        throw isAppError(error) && error.httpStatus === 404 ? notFound('activeflow') : error;
      },
    );
    try {
      const ownCall = input.reference_type === 'call' && activeflow.reference_type === 'call' ? (activeflow.reference_id ?? undefined) : undefined;
      const referenceId = z.uuid().safeParse(input.reference_id?.trim() || ownCall);
      if (!referenceId.success) {
        throw appError('VALIDATION_FAILED', `reference_id: must be the id of a ${input.reference_type} (got "${input.reference_id ?? ''}")`);
      }
      const summary = await this.create(customerId, {
        reference_type: input.reference_type,
        reference_id: referenceId.data.toLowerCase(),
        language: input.language,
        activeflow_id: activeflowId,
        ...(input.on_end_flow_id ? { on_end_flow_id: input.on_end_flow_id.toLowerCase() } : {}),
        ...(input.ai_id ? { ai_id: input.ai_id.toLowerCase() } : {}),
      });
      return { id: summary.id, type: 'ai_summary', push_actions: [] };
    } catch (error) {
      if (isAppError(error) && error.httpStatus === 404) throw error;
      this.logger.warn({ err: error, activeflowId }, 'ai_summary: the summary could not be asked for; the flow goes on');
      return { id: '', type: 'ai_summary', push_actions: [] };
    }
  }

  /** The transcription a new summary summarises; checks the reference is the customer's. */
  private async transcriptionFor(customerId: string, input: AisummaryCreate): Promise<Transcribe | { id: string }> {
    const { domain } = this.options;
    const fields = { reference_id: input.reference_id, language: input.language, direction: 'both' as const };
    switch (input.reference_type) {
      case 'call': {
        const call = await callFlowManager<{ customer_id: string; status: string }>(this.options, customerId, 'GET', `/v1/calls/${input.reference_id}`).catch((error: unknown) => {
          throw isAppError(error) && error.httpStatus === 404 ? notFound('call') : error;
        });
        if (call.customer_id !== customerId) throw notFound('call');
        if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended: only a live call can be summarised (summarise its transcription instead).');
        const running = await domain.db
          .selectFrom('transcribes')
          .select('id')
          .where('customer_id', '=', customerId)
          .where('reference_type', '=', 'call')
          .where('reference_id', '=', input.reference_id)
          .where('direction', '=', 'both')
          .where('status', '=', 'progressing')
          .where('tm_delete', 'is', null)
          .orderBy('tm_create', 'desc')
          .executeTakeFirst();
        return running ?? this.options.transcriptions.create(customerId, { reference_type: 'call', ...fields });
      }
      case 'transcribe': {
        const transcribe = await domain.db
          .selectFrom('transcribes')
          .select('id')
          .where('id', '=', input.reference_id)
          .where('customer_id', '=', customerId)
          .where('tm_delete', 'is', null)
          .executeTakeFirst();
        if (!transcribe) throw notFound('transcribe');
        return transcribe;
      }
      case 'recording': {
        // A transcription of the whole recording (both sides) the customer made already is used
        // as it is: the file is transcribed once. Else TranscribeService checks the recording is
        // the customer's (404) and transcribes it.
        const made = await domain.db
          .selectFrom('transcribes')
          .select('id')
          .where('customer_id', '=', customerId)
          .where('reference_type', '=', 'recording')
          .where('reference_id', '=', input.reference_id)
          .where('direction', '=', 'both')
          .where('tm_delete', 'is', null)
          .orderBy('tm_create', 'desc')
          .executeTakeFirst();
        return made ?? this.options.transcriptions.create(customerId, { reference_type: 'recording', ...fields });
      }
      default:
        throw appError('VALIDATION_FAILED', `reference_type: ${input.reference_type} cannot be summarised`);
    }
  }

  private async onTranscribeDone(event: EventEnvelope): Promise<void> {
    const transcribe = z.object({ id: z.uuid() }).parse(event.data);
    for (const id of await findProgressingAisummaryIds(this.options.domain, transcribe.id)) this.writer.schedule(id);
  }

  /** Summaries whose transcription ended without them being written (a crash in between). */
  private async sweep(): Promise<void> {
    try {
      const ids = await findUnwrittenAisummaryIds(this.options.domain, this.options.staleClaimSeconds ?? 300, 100);
      if (ids.length > 0) this.logger.info({ count: ids.length }, 'writing summaries left unwritten');
      for (const id of ids) this.writer.schedule(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'the summary sweep failed');
    }
  }
}
