import type { Ai } from '@avp/shared';
import { pipelineFallbacks } from '../domain/ais/ai-fallback.ts';
import { readEngineKey } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { chooseTtsVoice } from './voices.ts';

/**
 * The `ai` block of pipeline-manager's `POST /v1/pipelines`: the AI's engines, keys, voice and
 * turn-taking. One function for a session's start and its resumption on another
 * pipeline-manager (crash resumption), so a resumed session runs with the same settings.
 */
export async function pipelineAiSettings(
  domain: DomainContext,
  customerId: string,
  ai: Ai,
  flowVariables: () => Promise<Record<string, string>>,
): Promise<Record<string, unknown>> {
  const engineKey = await readEngineKey(domain, customerId, ai.id);
  return {
    engine_model: ai.engine_model,
    ...(engineKey ? { engine_key: engineKey } : {}),
    tts_type: ai.tts_type,
    tts_voice_id: (await chooseTtsVoice(ai, flowVariables)).voiceId,
    stt_type: ai.stt_type,
    stt_language: ai.stt_language,
    vad_config: ai.vad_config,
    turn_config: ai.turn_config,
    parameter: ai.parameter,
    ...(await pipelineFallbacks(domain, customerId, ai)),
    no_input_timeout: ai.no_input_timeout,
    no_input_max: ai.no_input_max,
  };
}

/**
 * `deadline_at` of `POST /v1/pipelines`: when the session must end, `duration` seconds after the
 * AIcall was created (null: no limit). Derived from stored values, so the pipeline that takes a
 * session over (crash resumption) gets the original deadline, not a fresh one.
 */
export function sessionDeadline(aicall: { tm_create: string; duration: number }): string | null {
  if (aicall.duration <= 0) return null;
  return new Date(Date.parse(aicall.tm_create) + aicall.duration * 1000).toISOString();
}
