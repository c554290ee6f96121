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
  };
}
