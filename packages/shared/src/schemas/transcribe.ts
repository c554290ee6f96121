import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Which side of a call a transcription hears: `in` the caller, `out` what the caller hears, `both` each on its own. */
export const transcribeDirections = ['in', 'out', 'both'] as const;
export const transcribeStatuses = ['progressing', 'done'] as const;

/** What a transcription hears: a live call, or a stored recording of one. */
export const transcribeReferenceTypes = ['call', 'recording'] as const;

/** Most recognition hints one transcription takes, and the longest. */
export const maxTranscribePhrases = 200;

/** Recognition hints: what the speakers are expected to say. */
export const transcribePhrasesSchema = z
  .array(z.string().trim().min(1).max(200))
  .max(maxTranscribePhrases)
  .default([])
  .meta({
    description:
      'Phrases the speakers are expected to say. The offline `local` recogniser listens for these only (without them it uses its general model, with poor accuracy); the other recognisers ignore them.',
  });

/** A transcription of a live call, or of a stored recording. */
export const transcribeSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  reference_type: z.enum(transcribeReferenceTypes),
  reference_id: z.uuid(),
  language: z.string(),
  direction: z.enum(transcribeDirections),
  status: z
    .enum(transcribeStatuses)
    .meta({ description: '`progressing` while the call (or the recording) is transcribed; `done` once stopped, the call ended, or the whole recording was heard.' }),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Transcribe = z.infer<typeof transcribeSchema>;

/** `POST /v1.0/transcribes`: transcribe a live call of yours, or a recording of yours that has ended. */
export const transcribeCreateSchema = z.strictObject({
  reference_type: z.enum(transcribeReferenceTypes),
  reference_id: z.uuid(),
  language: z.string().max(35).default('').meta({ description: 'BCP-47 tag such as en-US; empty: the recogniser detects it.' }),
  direction: z.enum(transcribeDirections).default('both'),
  phrases: transcribePhrasesSchema,
});
export type TranscribeCreate = z.infer<typeof transcribeCreateSchema>;

/** One utterance heard on one side of the call. */
export const transcriptSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  transcribe_id: z.uuid(),
  direction: z.enum(['in', 'out']),
  message: z.string(),
  /** Where in the transcription the utterance started. */
  offset_ms: z.number().int().min(0),
  tm_create: timestamp,
});
export type Transcript = z.infer<typeof transcriptSchema>;
