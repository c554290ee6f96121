import type { TtsProvider } from './types.ts';

/** An AI's fallback LLM fields (as the pipeline start carries them). */
export interface FallbackLlmFields {
  fallback_engine_model?: string;
  fallback_engine_key?: string;
}

/** An AI's fallback TTS fields. */
export interface FallbackTtsFields {
  fallback_tts_type?: string;
  fallback_tts_voice_id?: string;
}

/**
 * The AI as its fallback LLM is built from: `fallback_engine_model` with `fallback_engine_key`
 * (never the main `engine_key`: it belongs to another vendor's account), undefined when none.
 */
export function fallbackLlmAi<T extends { engine_model: string; engine_key?: string } & FallbackLlmFields>(ai: T): T | undefined {
  if (!ai.fallback_engine_model) return undefined;
  const { engine_key: _mainKey, ...rest } = ai;
  return { ...rest, engine_model: ai.fallback_engine_model, ...(ai.fallback_engine_key ? { engine_key: ai.fallback_engine_key } : {}) } as T;
}

/** The AI as its fallback TTS is built from (`fallback_tts_type`), undefined when none. */
export function fallbackTtsAi<T extends { tts_type: string; tts_voice_id: string } & FallbackTtsFields>(ai: T): T | undefined {
  if (!ai.fallback_tts_type) return undefined;
  return { ...ai, tts_type: ai.fallback_tts_type, tts_voice_id: ai.fallback_tts_voice_id ?? '' };
}

/** A TTS engine that speaks with `voiceId` whatever voice a session asks for (a fallback has its own). */
export function withVoice(tts: TtsProvider, voiceId: string): TtsProvider {
  return { name: tts.name, open: (options) => tts.open({ ...options, voiceId }) };
}
