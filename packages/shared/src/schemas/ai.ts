import { z } from 'zod';

/**
 * LLM providers accepted in `engine_model` (`<provider>.<model>`). `local` names this
 * project's offline engines (for example `local.scripted`), which need no key or network.
 */
export const llmProviders = [
  'anthropic',
  'aws',
  'azure',
  'cerebras',
  'deepseek',
  'fireworks',
  'gemini',
  'grok',
  'groq',
  'mistral',
  'nvidia',
  'ollama',
  'openai',
  'openrouter',
  'perplexity',
  'qwen',
  'sambanova',
  'together',
  'local',
] as const;
export type LlmProvider = (typeof llmProviders)[number];

/** Text-to-speech engines an AI may name; `local` is the offline espeak-ng engine. */
export const ttsTypes = [
  'async',
  'aws',
  'azure',
  'cartesia',
  'deepgram',
  'elevenlabs',
  'fish',
  'google',
  'groq',
  'hume',
  'inworld',
  'lmnt',
  'minimax',
  'neuphonic',
  'nvidia-riva',
  'openai',
  'piper',
  'playht',
  'rime',
  'sarvam',
  'xtts',
  'local',
] as const;
export type TtsType = (typeof ttsTypes)[number];

/**
 * The `tts_type` values an AI may be saved with: those with an engine behind them. The rest of
 * `ttsTypes` (VoIPBIN's catalogue) is refused at save time with the list of these, never
 * accepted to fail on a call.
 */
export const supportedTtsTypes = ['aws', 'azure', 'cartesia', 'deepgram', 'elevenlabs', 'google', 'openai', 'local'] as const satisfies readonly TtsType[];

/** Speech-to-text engines an AI may name; `local` is the offline PocketSphinx phrase recogniser. */
export const sttTypes = ['cartesia', 'deepgram', 'elevenlabs', 'google', 'local'] as const;
export type SttType = (typeof sttTypes)[number];

/** The `stt_type` values an AI may be saved with (see supportedTtsTypes). */
export const supportedSttTypes = ['cartesia', 'deepgram', 'elevenlabs', 'local'] as const satisfies readonly SttType[];

/** A `tts_type` / `stt_type` field: one of the supported values or '' (the default), else a 400 naming them. */
function engineTypeSchema<const Values extends readonly [string, ...string[]]>(field: string, supported: Values) {
  const names = supported.join(', ');
  return z.union([z.literal(''), z.enum(supported)], {
    error: (issue) => `${field} ${JSON.stringify(issue.input)} is not supported; supported: ${names} (or "" for the default)`,
  });
}

/** `tts_type` as a request gives it. */
export const ttsTypeSchema = engineTypeSchema('tts_type', supportedTtsTypes);
/** `stt_type` as a request gives it. */
export const sttTypeSchema = engineTypeSchema('stt_type', supportedSttTypes);

/** Splits `<provider>.<model>`; the model is everything after the first dot. */
export function parseEngineModel(value: string): { provider: LlmProvider; model: string } | undefined {
  const dot = value.indexOf('.');
  if (dot <= 0 || dot === value.length - 1) return undefined;
  const provider = value.slice(0, dot);
  if (!(llmProviders as readonly string[]).includes(provider)) return undefined;
  return { provider: provider as LlmProvider, model: value.slice(dot + 1) };
}

export const engineModelSchema = z
  .string()
  .max(200)
  .refine((value) => parseEngineModel(value) !== undefined, {
    message: `must be <provider>.<model> with provider one of ${llmProviders.join(', ')}`,
  })
  // The only offline engine there is; another `local.` name would fail on the first call.
  .refine((value) => parseEngineModel(value)?.provider !== 'local' || value === 'local.scripted', {
    message: 'the only local engine is local.scripted',
  });

/**
 * A well-formed BCP-47 language tag (language, optional script, region and variants), or
 * the empty string for "detect the language".
 */
const bcp47 = /^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$/;
export const languageTagSchema = z
  .string()
  .refine((value) => value === '' || (bcp47.test(value) && isCanonicalizable(value)), {
    message: 'must be a BCP-47 language tag such as en-US or ko-KR, or empty for auto-detect',
  });

function isCanonicalizable(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

/** Voice activity detection settings; omitted fields take the pipeline's defaults. */
export const vadConfigSchema = z.strictObject({
  /** Speech probability above which a frame counts as speech (0-1). */
  confidence: z.number().min(0).max(1).optional(),
  /** Seconds of speech before the caller counts as speaking (0-30). */
  start_secs: z.number().min(0).max(30).optional(),
  /** Seconds of silence before the caller counts as done (0-30). */
  stop_secs: z.number().min(0).max(30).optional(),
  /** Minimum loudness (0-1) for a frame to count as speech. */
  min_volume: z.number().min(0).max(1).optional(),
});
export type VadConfig = z.infer<typeof vadConfigSchema>;

/**
 * How the AI takes turns (per AI; omitted fields take the pipeline's defaults, documented in
 * the pipeline-manager README). Three parts, each owned by one stage of a turn:
 * - `end_of_turn`: when the caller's turn is over (what was said, not only silence) and when
 *   the answer is prepared ahead of that decision (preemptive generation);
 * - `interruption`: what of the caller's sound over the bot stops it (backchannels do not);
 * - `stall`: how long a provider may stay silent before the caller hears a filler, the
 *   provider is retried and, last, the session ends with an apology.
 */
export const endOfTurnConfigSchema = z
  .strictObject({
    /**
     * Seconds of silence after a final transcript before the answer is prepared ahead of the
     * end-of-turn decision (0.05-5). Nothing of it is heard or kept unless the turn ends.
     */
    preemptive_pause_secs: z.number().min(0.05).max(5).optional(),
    /** Whether the answer is prepared ahead of the end-of-turn decision (preemptive generation). */
    preemptive_enabled: z.boolean().optional(),
    /** Seconds of silence that end the turn when the transcript reads as a complete utterance (0.05-10). */
    complete_stop_secs: z.number().min(0.05).max(10).optional(),
    /** Seconds of silence that end the turn when the transcript is plainly unfinished (0.05-10). */
    incomplete_stop_secs: z.number().min(0.05).max(10).optional(),
    /**
     * Whether the finished-utterance wait learns this caller's pauses during the call (dynamic
     * endpointing): after pauses within a turn, or an answer the caller talked into at once, it
     * waits a little longer than the longest recent one (never longer than `incomplete_stop_secs`).
     */
    adaptive: z.boolean().optional(),
  })
  .refine(
    (value) =>
      value.complete_stop_secs === undefined ||
      value.incomplete_stop_secs === undefined ||
      value.complete_stop_secs <= value.incomplete_stop_secs,
    { message: 'complete_stop_secs must not exceed incomplete_stop_secs', path: ['complete_stop_secs'] },
  );
export type EndOfTurnConfig = z.infer<typeof endOfTurnConfigSchema>;

/**
 * The defaults of `turn_config.end_of_turn`. The finished-utterance wait rides over a
 * mid-sentence pause of up to about 0.7 s; the answer is prepared from 0.2 s of silence on, so
 * the caller does not wait for that decision.
 */
export const defaultEndOfTurnConfig: Required<EndOfTurnConfig> = {
  preemptive_enabled: true,
  preemptive_pause_secs: 0.2,
  complete_stop_secs: 0.75,
  incomplete_stop_secs: 1.6,
  adaptive: true,
};
/**
 * What of the caller's sound over the bot stops it. Speech becomes an interruption once it has
 * lasted `min_secs` and its words (when the transcript has any yet) are not all backchannel
 * words; a short sound, a backchannel ("mhm", "okay") or the bot's own echo leaves the bot
 * talking and is not a turn of the caller. Paused by sound that turns out to hold no words,
 * the bot goes on. Defaults and details: the pipeline-manager README, "Interruptions".
 */
export const interruptionConfigSchema = z.strictObject({
  /** Seconds of voiced caller speech over the bot before it can stop the bot (0-5, default 0.5; VAD's start_secs counts in it). */
  min_secs: z.number().min(0).max(5).optional(),
  /** Words, other than backchannel words, the transcript must hold for an interruption (0-10, default 1; 0 = words do not matter). */
  min_words: z.number().int().min(0).max(10).optional(),
  /** Words and short phrases that only acknowledge ("mhm", "uh huh"); at most 100, each 1-40 characters (default: an English list). */
  backchannel_words: z.array(z.string().trim().min(1).max(40)).max(100).optional(),
  /** Caller sound quieter than the bot's own voice by more than this many dB is taken for its echo while the bot speaks (0-60, default 12; 0 = off). */
  echo_margin_db: z.number().min(0).max(60).optional(),
  /** Seconds to wait for words after sound stopped the bot, before it goes on with its answer (0.2-5, default 2). */
  false_interruption_secs: z.number().min(0.2).max(5).optional(),
});
export type InterruptionConfig = z.infer<typeof interruptionConfigSchema>;
/** The pipeline's interruption defaults. */
export const defaultInterruptionConfig: Required<InterruptionConfig> = {
  min_secs: 0.5,
  min_words: 1,
  backchannel_words: ['mhm', 'mm', 'mmm', 'hm', 'hmm', 'uh huh', 'uh-huh', 'okay', 'ok', 'yeah', 'yep', 'yup', 'right', 'sure', 'alright', 'all right', 'i see', 'got it', 'uh', 'um', 'ah', 'oh'],
  echo_margin_db: 12,
  false_interruption_secs: 2,
};
export const stallConfigSchema = z.strictObject({
  /**
   * Seconds a provider may take for its first output (LLM: first token; TTS: first audio)
   * before it counts as stalled (0.5-30, default 2.5).
   */
  timeout_secs: z.number().min(0.5).max(30).optional(),
  /** Said while a stalled provider is retried or replaced ('' = nothing; default "One moment, please."). */
  filler_text: z.string().max(200).optional(),
  /** Said before the session ends when every try stalled (default: an apology; '' = end without one). */
  apology_text: z.string().max(500).optional(),
});
export type StallConfig = z.infer<typeof stallConfigSchema>;
/** The pipeline's stall defaults. */
export const defaultStallConfig: Required<StallConfig> = {
  timeout_secs: 2.5,
  filler_text: 'One moment, please.',
  apology_text: 'I am sorry, I am having technical difficulties. Please call again later. Goodbye.',
};
export const turnConfigSchema = z.strictObject({
  end_of_turn: endOfTurnConfigSchema.optional(),
  interruption: interruptionConfigSchema.optional(),
  stall: stallConfigSchema.optional(),
});
export type TurnConfig = z.infer<typeof turnConfigSchema>;

/**
 * The pipeline's VAD defaults. `stop_secs` is short: the VAD only reports pauses; when a
 * pause ends the caller's turn is decided by `turn_config.end_of_turn` (what was said, and
 * longer silence), and the answer is prepared from the first pause on.
 */
export const defaultVadConfig: Required<VadConfig> = { confidence: 0.7, start_secs: 0.2, stop_secs: 0.2, min_volume: 0.6 };

/** The tools an AI may be offered (issue 8 builds each one). */
export const toolNames = [
  'connect_call',
  'send_email',
  'send_message',
  'stop_media',
  'stop_service',
  'stop_flow',
  'set_variables',
  'get_variables',
  'get_aicall_messages',
  'search_knowledge',
] as const;
export type ToolName = (typeof toolNames)[number];

/** `["all"]`, `[]`, or a list of distinct names from the tool catalog. */
export const toolNamesSchema = z
  .array(z.string())
  .max(toolNames.length + 1)
  .superRefine((names, context) => {
    if (names.includes('all')) {
      if (names.length > 1) context.addIssue({ code: 'custom', message: '"all" cannot be combined with other names' });
      return;
    }
    const unknown = names.filter((name) => !(toolNames as readonly string[]).includes(name));
    if (unknown.length > 0) {
      context.addIssue({
        code: 'custom',
        message: `unknown tool ${unknown.map((name) => JSON.stringify(name)).join(', ')}; known tools: ${toolNames.join(', ')}`,
      });
    }
    if (new Set(names).size !== names.length) context.addIssue({ code: 'custom', message: 'names must not repeat' });
  });

/** Most knowledge bases one AI may search. */
export const maxKnowledgebasesPerAi = 20;

/** Ids of the customer's knowledge bases, no repeats. */
export const knowledgebaseIdsSchema = z
  .array(z.uuid())
  .max(maxKnowledgebasesPerAi)
  .refine((ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length, { message: 'ids must not repeat' });

/**
 * Seconds of caller silence, once the AI finished speaking, before it re-prompts (the LLM gets
 * a turn told how long the caller has been silent): 0 = off (the default), else 1-600.
 */
export const noInputTimeoutSchema = z
  .number()
  .min(0)
  .max(600)
  .refine((value) => value === 0 || value >= 1, { message: 'must be 0 (off) or from 1 to 600 seconds' });
/** Re-prompts for silence before the session ends (stop_service), 1-10. */
export const noInputMaxSchema = z.number().int().min(1).max(10);
/** The default of `no_input_max`. */
export const defaultNoInputMax = 2;

/** How a call's audio reaches the AI's pipeline; '' = the deployment's default. */
export const mediaTransports = ['', 'rtp', 'websocket'] as const;
export type MediaTransportSetting = (typeof mediaTransports)[number];

/** The fields a customer sets on an AI (POST and PUT bodies). */
export const aiFieldsSchema = z.strictObject({
  name: z.string().max(255).default(''),
  detail: z.string().max(4096).default(''),
  engine_model: engineModelSchema,
  /** Free JSON given to the LLM as context; string values may hold `${variable}`. */
  parameter: z.record(z.string(), z.unknown()).default({}),
  /** The customer's own provider key; write-only. */
  engine_key: z.string().max(4096).optional(),
  init_prompt: z.string().max(100_000).default(''),
  tts_type: ttsTypeSchema.default(''),
  tts_voice_id: z.string().max(255).default(''),
  stt_type: sttTypeSchema.default(''),
  stt_language: languageTagSchema.default(''),
  tool_names: toolNamesSchema.default([]),
  vad_config: vadConfigSchema.optional(),
  smart_turn_enabled: z.boolean().optional(),
  /**
   * How the AI takes turns (end of turn, interruptions, stalls); `PUT` keeps the stored value
   * when left out.
   */
  turn_config: turnConfigSchema.optional(),
  /**
   * `rtp` or `websocket` media between Asterisk and the pipeline for this AI's calls; `''` uses
   * the deployment's MEDIA_TRANSPORT. `PUT` keeps the stored value when left out.
   */
  media_transport: z.enum(mediaTransports).optional(),
  /** The knowledge bases search_knowledge searches; `PUT` keeps the stored list when left out. */
  knowledgebase_ids: knowledgebaseIdsSchema.optional(),
  /**
   * The LLM tried when `engine_model` stalled twice (`turn_config.stall`); '' = none. `PUT`
   * keeps the stored value when left out (the four fallback fields alike).
   */
  fallback_engine_model: z.union([z.literal(''), engineModelSchema]).optional(),
  /** The fallback LLM's own key; write-only like `engine_key` (`""` removes it). */
  fallback_engine_key: z.string().max(4096).optional(),
  /** The TTS tried when `tts_type` stalled twice, and that says the filler meanwhile; '' = none. */
  fallback_tts_type: engineTypeSchema('fallback_tts_type', supportedTtsTypes).optional(),
  /** The fallback TTS's voice ('' = its default for the language). */
  fallback_tts_voice_id: z.string().max(255).optional(),
  /**
   * Voice sessions: seconds of caller silence after the AI spoke before it re-prompts (0 = off,
   * the default). `PUT` keeps the stored value when left out (both no_input fields alike).
   */
  no_input_timeout: noInputTimeoutSchema.optional(),
  /** Re-prompts without an answer before the session ends with a goodbye (1-10, default 2). */
  no_input_max: noInputMaxSchema.optional(),
});
export type AiFields = z.infer<typeof aiFieldsSchema>;
