import { transcribePhrasesSchema, type Transcribe, type TranscribeCreate, type Transcript } from '@avp/shared';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { TranscribesTable, TranscriptsTable } from '../db/tables.ts';

/** Transcriptions and transcripts as the API shows them, and the bodies of the bus routes that feed them. */

export type TranscribeRow = Selectable<TranscribesTable>;

export function toTranscribe(row: TranscribeRow): Transcribe {
  return {
    id: row.id,
    customer_id: row.customer_id,
    reference_type: row.reference_type as Transcribe['reference_type'],
    reference_id: row.reference_id,
    language: row.language,
    direction: row.direction as Transcribe['direction'],
    status: row.status as Transcribe['status'],
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

export function toTranscript(row: Selectable<TranscriptsTable>): Transcript {
  return {
    id: row.id,
    customer_id: row.customer_id,
    transcribe_id: row.transcribe_id,
    direction: row.direction as Transcript['direction'],
    message: row.message,
    offset_ms: row.offset_ms,
    tm_create: row.tm_create,
  };
}

/** What a transcriber reports (pipeline-manager's `POST /v1/transcripts`). */
export const reportedTranscriptSchema = z.strictObject({
  transcribe_id: z.uuid(),
  customer_id: z.uuid(),
  direction: z.enum(['in', 'out']),
  text: z.string().min(1).max(20_000),
  offset_ms: z.number().int().min(0).max(2_147_483_647),
});

/** What a transcriber reports when it has heard all of its recording. */
export const finishedTranscriberSchema = z.strictObject({
  transcribe_id: z.uuid(),
  customer_id: z.uuid(),
  transcriber_id: z.string().min(1).max(100),
});

/** What a transcriber hears: a live call, or a recording that has ended. */
export type TranscriberSource = { call_id: string } | { recording_id: string };

/** A transcription to start; `phrases` may be left out (the API's body always has them). */
export type TranscribeFields = Omit<TranscribeCreate, 'phrases'> & { phrases?: string[] };

/** What the transcribe_start / transcribe_stop flow actions send (`POST /v1/services/type/transcribe[_stop]`). */
export const flowTranscribeSchema = z.object({
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable().optional(),
  reference_id: z.uuid(),
  language: z.string().max(35).default(''),
  direction: z.enum(['in', 'out', 'both']).default('both'),
  phrases: transcribePhrasesSchema,
});

