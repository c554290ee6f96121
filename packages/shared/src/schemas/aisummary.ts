import { z } from 'zod';
import { languageTagSchema } from './ai.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** What a summary summarises. `conference` is VoIPBIN's; this platform has no conferences and refuses it. */
export const aisummaryReferenceTypes = ['call', 'conference', 'transcribe', 'recording'] as const;
/** `progressing` until the transcription it summarises is done and the summary written; `failed` says why in `failure_reason`. */
export const aisummaryStatuses = ['progressing', 'done', 'failed'] as const;

/** An AI summary as the API, events and webhooks show it. */
export const aisummarySchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable(),
  on_end_flow_id: z.uuid().nullable(),
  reference_type: z.enum(aisummaryReferenceTypes),
  reference_id: z.uuid(),
  /** The transcription summarised (started or reused for a call or a recording). */
  transcribe_id: z.uuid().nullable(),
  /** The customer's AI whose engine writes the summary; null = the platform's default engine. */
  ai_id: z.uuid().nullable(),
  status: z.enum(aisummaryStatuses),
  /** As requested; empty = chosen when the summary is written (flow variable, the transcription's language, else en-US). */
  language: z.string(),
  content: z.string(),
  /** Why the summary could not be written; empty unless `failed`. */
  failure_reason: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Aisummary = z.infer<typeof aisummarySchema>;

/** `POST /v1.0/aisummaries`: summarise a call, a transcription or a recording of yours. */
export const aisummaryCreateSchema = z.strictObject({
  reference_type: z.enum(aisummaryReferenceTypes),
  reference_id: z.uuid(),
  language: z.union([z.literal(''), languageTagSchema]).default('').meta({ description: 'BCP-47 tag such as en-US; empty: the transcription\'s language, else en-US.' }),
  on_end_flow_id: z.uuid().optional().meta({ description: 'A flow of yours started (reference_type `ai`) once the summary is done, with the voipbin.ai_summary.* variables.' }),
  ai_id: z.uuid().optional().meta({ description: "An AI of yours whose engine_model and engine_key write the summary instead of the platform's default." }),
});
export type AisummaryCreate = z.infer<typeof aisummaryCreateSchema>;
