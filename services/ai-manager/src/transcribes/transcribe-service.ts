import {
  appError,
  creationTimestamps,
  deletionTimestamps,
  isAppError,
  jsonb,
  listPage,
  newId,
  rpcCall,
  updateTimestamps,
  type Bus,
  type EventEnvelope,
  type ListQuery,
  type ListResponse,
  type Logger,
  type Subscription,
  type Transcribe,
  type Transcript,
} from '@avp/shared';
import { z } from 'zod';
import type { TranscriberRef } from '../db/tables.ts';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { withEvents } from '../events/event-publisher.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { toTranscribe, toTranscript, type finishedTranscriberSchema, type reportedTranscriptSchema, type TranscribeFields, type TranscriberSource, type TranscribeRow } from './transcribe-records.ts';

export interface TranscribeServiceOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The recogniser transcriptions use (TRANSCRIBE_STT_TYPE, default deepgram). */
  sttType?: string;
  /** Longest wait for pipeline-manager to start a transcriber (default 15 s). */
  startTimeoutMs?: number;
}

/**
 * Live transcription of calls: `POST /v1.0/transcribes` asks pipeline-manager for a transcriber
 * per direction (each hears its side of the call on a snoop leg of its own, beside an AI
 * session), stores what they hear as transcripts (`transcript_created`), and stops them when
 * asked or when the call hangs up (`transcribe_done`). STT seconds are billed as usage.
 */
export class TranscribeService {
  readonly logger: Logger;
  private subscription: Subscription | undefined;

  constructor(private readonly options: TranscribeServiceOptions) {
    this.logger = options.logger.child({ component: 'transcribes' });
  }

  /** Stops the transcriptions of calls that hang up. */
  async start(): Promise<void> {
    this.subscription = await this.options.bus.subscribe('flow-manager', ['call_hangup'], (event) => this.onCallHangup(event), {
      queue: `${this.options.serviceName}.transcribe-call-hangup`,
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
  }

  /**
   * Starts transcribing a live call of the customer's, or a recording of theirs that has ended:
   * 404 for another customer's or an unknown one, 409 for a call that has ended or a recording
   * still being made, 402 below the minimum balance. A transcriber that cannot start (no
   * recogniser, no pipeline-manager) fails the request and leaves nothing running. A recording's
   * transcription ends by itself (`transcribe_done`) once its transcribers have heard the whole file.
   */
  async create(customerId: string, fields: TranscribeFields): Promise<Transcribe> {
    const { domain } = this.options;
    const source = fields.reference_type === 'recording' ? await this.recordingSource(customerId, fields.reference_id) : await this.callSource(customerId, fields.reference_id);
    await domain.billing?.assertCanStart(customerId);
    const id = newId();
    const directions = fields.direction === 'both' ? (['in', 'out'] as const) : ([fields.direction] as const);
    // Both directions' transcript offsets count from this one moment (the call's audio), or from the recording's start.
    const originMs = Date.now();
    const started: TranscriberRef[] = [];
    try {
      for (const direction of directions) {
        started.push(await this.startTranscriber({ transcribeId: id, customerId, source, direction, language: fields.language, phrases: fields.phrases, originMs }));
      }
    } catch (error) {
      await this.stopTranscribers(customerId, started);
      this.logger.warn({ err: error, referenceType: fields.reference_type, referenceId: fields.reference_id }, 'a transcription could not start');
      throw error;
    }
    const transcribe = await withEvents(domain.db, domain.events, async (trx, emit) => {
      const row = await trx
        .insertInto('transcribes')
        .values({
          id,
          customer_id: customerId,
          reference_type: fields.reference_type,
          reference_id: fields.reference_id,
          language: fields.language,
          direction: fields.direction,
          status: 'progressing',
          transcribers: jsonb(started),
          ...creationTimestamps(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const created = toTranscribe(row);
      await emit('transcribe_created', customerId, created);
      return created;
    });
    this.logger.info({ transcribeId: id, referenceType: fields.reference_type, referenceId: fields.reference_id, directions }, 'transcription started');
    return transcribe;
  }

  /**
   * Starts one direction's transcriber on whichever pipeline-manager instance takes it (the
   * shared queue), and answers how to find it and start it again.
   */
  async startTranscriber(input: {
    transcribeId: string;
    customerId: string;
    source: TranscriberSource;
    direction: 'in' | 'out';
    language: string;
    phrases?: string[];
    originMs: number;
    /** A recording's transcriber started again: the utterances reported up to here are not reported twice. */
    resumeAfterMs?: number;
  }): Promise<TranscriberRef> {
    const reply = await rpcCall<{ transcriber_id: string; instance_id: string }>(
      this.options.bus,
      'pipeline-manager',
      'POST',
      '/v1/transcribers',
      {
        transcribe_id: input.transcribeId,
        customer_id: input.customerId,
        ...input.source,
        direction: input.direction,
        stt_type: this.options.sttType ?? 'deepgram',
        stt_language: input.language,
        parameter: input.phrases?.length ? { stt_phrases: input.phrases } : {},
        origin_ms: input.originMs,
        ...(input.resumeAfterMs === undefined ? {} : { resume_after_ms: input.resumeAfterMs }),
      },
      { publisher: this.options.serviceName, timeoutMs: this.options.startTimeoutMs ?? 15_000 },
    );
    return { direction: input.direction, transcriber_id: reply.transcriber_id, instance_id: reply.instance_id, origin_ms: input.originMs, ...(input.phrases?.length ? { phrases: input.phrases } : {}) };
  }

  /** The customer's call from flow-manager; another customer's is a 404, like a missing one. */
  async ownCall(customerId: string, callId: string): Promise<{ customer_id: string; status: string }> {
    const call = await callFlowManager<{ customer_id: string; status: string }>(this.options, customerId, 'GET', `/v1/calls/${callId}`).catch((error: unknown) => {
      if (isAppError(error) && error.httpStatus === 404) throw notFound('call');
      throw error;
    });
    if (call.customer_id !== customerId) throw notFound('call');
    return call;
  }

  /** A live call of the customer's, as transcribers name it. */
  private async callSource(customerId: string, callId: string): Promise<{ call_id: string }> {
    const call = await this.ownCall(customerId, callId);
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    return { call_id: callId };
  }

  /** An ended recording of the customer's, as transcribers name it. */
  private async recordingSource(customerId: string, recordingId: string): Promise<{ recording_id: string }> {
    const recording = await callFlowManager<{ customer_id: string; status: string }>(this.options, customerId, 'GET', `/v1/recordings/${recordingId}`).catch((error: unknown) => {
      if (isAppError(error) && error.httpStatus === 404) throw notFound('recording');
      throw error;
    });
    if (recording.customer_id !== customerId) throw notFound('recording');
    if (recording.status !== 'ended') {
      throw appError('INVALID_STATE', recording.status === 'failed' ? 'The recording failed: there is nothing to transcribe.' : `The recording is still ${recording.status}: transcribe it once it has ended.`);
    }
    return { recording_id: recordingId };
  }

  /**
   * A transcriber that heard all of its recording (bus route `POST /v1/transcribers/finished`):
   * once every transcriber of the transcription has, it is done (`transcribe_done`). The
   * transcripts were reported before, in order.
   */
  async transcriberFinished(input: z.infer<typeof finishedTranscriberSchema>): Promise<Transcribe> {
    const customerId = input.customer_id.toLowerCase();
    const id = input.transcribe_id.toLowerCase();
    return withEvents(this.options.domain.db, this.options.domain.events, async (trx, emit) => {
      const row = await trx.selectFrom('transcribes').selectAll().where('id', '=', id).where('customer_id', '=', customerId).forUpdate().executeTakeFirst();
      if (!row) throw notFound('transcribe');
      if (row.status === 'done') return toTranscribe(row);
      const transcribers = row.transcribers.map((entry) => (entry.transcriber_id === input.transcriber_id ? { ...entry, finished: true } : entry));
      const done = transcribers.every((entry) => entry.finished);
      const updated = await trx
        .updateTable('transcribes')
        .set({ transcribers: jsonb(transcribers), ...(done ? { status: 'done' } : {}), ...updateTimestamps() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const transcribe = toTranscribe(updated);
      if (done) {
        await emit('transcribe_done', customerId, transcribe);
        this.logger.info({ transcribeId: id, referenceType: row.reference_type }, 'transcription done: everything was heard');
      }
      return transcribe;
    });
  }

  async get(customerId: string, id: string): Promise<Transcribe> {
    return toTranscribe(await this.row(customerId, id));
  }

  async list(customerId: string, page: ListQuery): Promise<ListResponse<Transcribe>> {
    const query = this.options.domain.db.selectFrom('transcribes').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
    const result = await listPage(query, page);
    return { result: result.result.map(toTranscribe), next_page_token: result.next_page_token };
  }

  /** Stops a transcription (its transcribers read their last words first); a done one comes back unchanged. */
  async finish(customerId: string, id: string): Promise<Transcribe> {
    const row = await this.row(customerId, id);
    if (row.status === 'done') return toTranscribe(row);
    await this.stopTranscribers(customerId, row.transcribers);
    return withEvents(this.options.domain.db, this.options.domain.events, async (trx, emit) => {
      const updated = await trx
        .updateTable('transcribes')
        .set({ status: 'done', ...updateTimestamps() })
        .where('id', '=', id)
        .where('status', '=', 'progressing')
        .returningAll()
        .executeTakeFirst();
      if (!updated) return toTranscribe(await this.row(customerId, id, trx));
      const done = toTranscribe(updated);
      await emit('transcribe_done', customerId, done);
      return done;
    });
  }

  /** Stops every running transcription of the customer's call or recording; answers the last one's id. */
  async finishAllOf(customerId: string, referenceId: string): Promise<string | undefined> {
    const rows = await this.options.domain.db
      .selectFrom('transcribes')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('reference_id', '=', referenceId)
      .where('status', '=', 'progressing')
      .where('tm_delete', 'is', null)
      .execute();
    for (const row of rows) await this.finish(customerId, row.id);
    return rows.at(-1)?.id;
  }

  /** Stops it if it runs, then soft-deletes it (its transcripts stay readable until then). */
  async remove(customerId: string, id: string): Promise<Transcribe> {
    await this.finish(customerId, id);
    return withEvents(this.options.domain.db, this.options.domain.events, async (trx, emit) => {
      const row = await trx
        .updateTable('transcribes')
        .set(deletionTimestamps())
        .where('id', '=', id)
        .where('customer_id', '=', customerId)
        .where('tm_delete', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw notFound('transcribe');
      const deleted = toTranscribe(row);
      await emit('transcribe_deleted', customerId, deleted);
      return deleted;
    });
  }

  /** `GET /v1.0/transcripts?transcribe_id=`: newest first, like every list. */
  async transcripts(customerId: string, transcribeId: string, page: ListQuery): Promise<ListResponse<Transcript>> {
    await this.row(customerId, transcribeId);
    const query = this.options.domain.db.selectFrom('transcripts').selectAll().where('transcribe_id', '=', transcribeId).where('tm_delete', 'is', null);
    const result = await listPage(query, page);
    return { result: result.result.map(toTranscript), next_page_token: result.next_page_token };
  }

  /** A transcriber's utterance (bus route): stored under the transcription of the named customer only. */
  async record(input: z.infer<typeof reportedTranscriptSchema>): Promise<Transcript> {
    const customerId = input.customer_id.toLowerCase();
    await this.row(customerId, input.transcribe_id.toLowerCase());
    return withEvents(this.options.domain.db, this.options.domain.events, async (trx, emit) => {
      const row = await trx
        .insertInto('transcripts')
        .values({
          id: newId(),
          customer_id: customerId,
          transcribe_id: input.transcribe_id.toLowerCase(),
          direction: input.direction,
          message: input.text,
          offset_ms: input.offset_ms,
          ...creationTimestamps(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const transcript = toTranscript(row);
      await emit('transcript_created', customerId, transcript);
      return transcript;
    });
  }

  private async row(customerId: string, id: string, db = this.options.domain.db): Promise<TranscribeRow> {
    const row = await db.selectFrom('transcribes').selectAll().where('id', '=', id).where('customer_id', '=', customerId).where('tm_delete', 'is', null).executeTakeFirst();
    if (!row) throw notFound('transcribe');
    return row;
  }

  private async stopTranscribers(customerId: string, transcribers: readonly TranscriberRef[]): Promise<void> {
    for (const transcriber of transcribers) {
      await rpcCall(this.options.bus, 'pipeline-manager', 'POST', `/v1/transcribers/${transcriber.transcriber_id}/stop`, { customer_id: customerId, reason: 'stopped' }, {
        instanceId: transcriber.instance_id,
        publisher: this.options.serviceName,
        timeoutMs: 10_000,
      }).catch((error: unknown) => {
        if (!(isAppError(error) && error.httpStatus === 404)) this.logger.warn({ err: error, transcriberId: transcriber.transcriber_id }, 'could not stop a transcriber');
      });
    }
  }

  private async onCallHangup(event: EventEnvelope): Promise<void> {
    const call = z.object({ id: z.uuid(), customer_id: z.uuid() }).parse(event.data);
    await this.finishAllOf(call.customer_id, call.id);
  }
}
