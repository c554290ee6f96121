import { z } from 'zod';
import { mediaTransports, sttTypes, toolNames, ttsTypes, turnConfigSchema, vadConfigSchema } from './ai.ts';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/**
 * An AI as every endpoint, event and webhook shows it. `engine_key` is write-only and never
 * appears; `engine_key_set` says whether one is stored.
 */
export const aiSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  name: z.string(),
  detail: z.string(),
  engine_model: z.string(),
  parameter: z.record(z.string(), z.unknown()),
  engine_key_set: z.boolean(),
  init_prompt: z.string(),
  tts_type: z.union([z.literal(''), z.enum(ttsTypes)]),
  tts_voice_id: z.string(),
  stt_type: z.union([z.literal(''), z.enum(sttTypes)]),
  stt_language: z.string(),
  tool_names: z.array(z.union([z.literal('all'), z.enum(toolNames)])),
  vad_config: vadConfigSchema,
  smart_turn_enabled: z.boolean(),
  /** How the AI takes turns; `{}` = the pipeline's defaults. */
  turn_config: turnConfigSchema,
  /** Media transport of the AI's calls: '' (the deployment's default), 'rtp' or 'websocket'. */
  media_transport: z.enum(mediaTransports),
  /** The knowledge bases search_knowledge searches (empty: the tool finds nothing to search). */
  knowledgebase_ids: z.array(z.uuid()),
  /** The LLM tried when `engine_model` stalls ('' = none); its key shows only as `fallback_engine_key_set`. */
  fallback_engine_model: z.string(),
  fallback_engine_key_set: z.boolean(),
  /** The TTS tried when `tts_type` stalls ('' = none), and its voice. */
  fallback_tts_type: z.union([z.literal(''), z.enum(ttsTypes)]),
  fallback_tts_voice_id: z.string(),
  /** Seconds of caller silence before the AI re-prompts in a voice session (0 = off). */
  no_input_timeout: z.number(),
  /** Re-prompts without an answer before the session ends. */
  no_input_max: z.number().int(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type Ai = z.infer<typeof aiSchema>;
