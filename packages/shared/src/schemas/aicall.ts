import { z } from 'zod';
import { turnConfigSchema, vadConfigSchema } from './ai.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** AIcall states, in order. `terminated` is final and sets `tm_end`. */
export const aicallStatuses = ['initiating', 'progressing', 'terminating', 'terminated'] as const;
export type AicallStatus = (typeof aicallStatuses)[number];

/**
 * What an AIcall serves: a voice call, a text conversation, a task, nothing (API only), or a
 * browser's microphone (`web_session`, started with `POST /v1.0/web_sessions`).
 */
export const aicallReferenceTypes = ['', 'call', 'conversation', 'task', 'web_session'] as const;
export type AicallReferenceType = (typeof aicallReferenceTypes)[number];

/** Who answers in an AIcall: one AI, or a team of AIs that hand the conversation to each other. */
export const assistanceTypes = ['ai', 'team'] as const;
export type AssistanceType = (typeof assistanceTypes)[number];

/** An AIcall (one AI session) as the API, events and webhooks show it. */
export const aicallSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  assistance_type: z.enum(assistanceTypes),
  assistance_id: z.uuid(),
  ai_engine_model: z.string(),
  ai_tts_type: z.string(),
  ai_tts_voice_id: z.string(),
  ai_stt_type: z.string(),
  ai_vad_config: vadConfigSchema,
  ai_smart_turn_enabled: z.boolean(),
  /** The AI's `turn_config` when the session started (`{}` for text sessions). */
  ai_turn_config: turnConfigSchema,
  /** The AI's fallback providers when the session started ('' = none; text sessions keep only the LLM's). */
  ai_fallback_engine_model: z.string(),
  ai_fallback_tts_type: z.string(),
  ai_fallback_tts_voice_id: z.string(),
  /** The AI's no-input settings when the session started (voice sessions; 0 / 2 for text sessions). */
  ai_no_input_timeout: z.number(),
  ai_no_input_max: z.number().int(),
  /** The session's time limit in seconds from `tm_create` (`ai_talk.duration`; 0 = none; voice sessions only). */
  duration: z.number().int(),
  stt_language: z.string(),
  parameter: z.record(z.string(), z.unknown()),
  /** A team's session: the member answering now (null for a single AI). */
  current_member_id: z.uuid().nullable(),
  activeflow_id: z.uuid().nullable(),
  reference_type: z.enum(aicallReferenceTypes),
  reference_id: z.uuid().nullable(),
  status: z.enum(aicallStatuses),
  tm_end: timestamp.nullable(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Aicall = z.infer<typeof aicallSchema>;

/** `POST /v1.0/aicalls`: start a session. */
export const aicallCreateSchema = z
  .strictObject({
    assistance_type: z.enum(assistanceTypes),
    assistance_id: z.uuid(),
    // A web session starts from POST /v1.0/web_sessions, which hands out its media token.
    reference_type: z.enum(aicallReferenceTypes).exclude(['web_session']).default(''),
    reference_id: z.uuid().nullable().optional(),
    activeflow_id: z.uuid().nullable().optional(),
  })
  .superRefine((value, context) => {
    const needsReference = value.reference_type === 'call' || value.reference_type === 'conversation';
    if (needsReference && !value.reference_id) {
      context.addIssue({ code: 'custom', path: ['reference_id'], message: `required when reference_type is ${value.reference_type}` });
    }
  });
export type AicallCreate = z.infer<typeof aicallCreateSchema>;

/** Filters of `GET /v1.0/aicalls`. */
export const aicallFiltersSchema = z.object({
  status: z.enum(aicallStatuses).optional(),
  reference_type: z.enum(aicallReferenceTypes).optional(),
  reference_id: z.uuid().optional(),
});
