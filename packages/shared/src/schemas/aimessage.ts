import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Who wrote a message. `notification` entries are never sent to the LLM. */
export const aimessageRoles = ['system', 'user', 'assistant', 'tool', 'notification'] as const;
export type AimessageRole = (typeof aimessageRoles)[number];

/** Relative to the AI: `outgoing` goes to the LLM, `incoming` comes from it. */
export const aimessageDirections = ['incoming', 'outgoing'] as const;
export type AimessageDirection = (typeof aimessageDirections)[number];

/** A tool call requested by the LLM. */
export const toolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() }),
});
export type ToolCall = z.infer<typeof toolCallSchema>;

/** A message of an AIcall as the API, events and webhooks show it. */
/** Per-turn latencies of a spoken answer (ms). */
export const aimessageLatencySchema = z.object({
  first_audio_ms: z.number().optional(),
  stt_final_ms: z.number().optional(),
  llm_first_token_ms: z.number().optional(),
  tts_first_byte_ms: z.number().optional(),
  /** End of the caller's speech to the end of the turn decided (turn_config.end_of_turn). */
  end_of_turn_ms: z.number().optional(),
});
export type AimessageLatency = z.infer<typeof aimessageLatencySchema>;

export const aimessageSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  aicall_id: z.uuid(),
  activeflow_id: z.uuid().nullable(),
  active_ai_id: z.uuid().nullable(),
  role: z.enum(aimessageRoles),
  content: z.string(),
  direction: z.enum(aimessageDirections),
  tool_calls: z.array(toolCallSchema),
  tool_call_id: z.string(),
  /**
   * For an assistant answer spoken in a voice session: how long its turn took, in ms
   * (`first_audio_ms`: end of the caller's speech, or the turn's start when it began
   * without speech, to the first audio sent; `stt_final_ms`, `llm_first_token_ms`,
   * `tts_first_byte_ms`: the parts; `end_of_turn_ms`: the wait until the end of the caller's
   * turn was decided). Null otherwise.
   */
  latency: aimessageLatencySchema.nullable(),
  tm_create: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Aimessage = z.infer<typeof aimessageSchema>;

/** `POST /v1.0/aimessages`: a user message into a running session. */
export const aimessageCreateSchema = z.strictObject({
  aicall_id: z.uuid(),
  role: z.literal('user').default('user'),
  content: z.string().min(1).max(100_000),
});
export type AimessageCreate = z.infer<typeof aimessageCreateSchema>;

/** A streamed piece of an assistant answer (`aimessage_intermediate`, not stored). */
export const aimessageIntermediateSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  aicall_id: z.uuid(),
  activeflow_id: z.uuid().nullable(),
  active_ai_id: z.uuid().nullable(),
  role: z.literal('assistant'),
  content: z.string(),
  direction: z.literal('incoming'),
  sequence: z.number().int().min(1),
});
export type AimessageIntermediate = z.infer<typeof aimessageIntermediateSchema>;
