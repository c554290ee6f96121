import { z } from 'zod';
import type { MemberSwitch } from '../pipeline/conversation.ts';
import { fallbackProviders, providerFailure } from './provider-start.ts';
import { pipelineStartSchema, type PipelineStart, type ProviderSource } from './pipeline-start.ts';

/**
 * `switch_member` of a `tool_execute` answer: the LLM called a team transition and ai-manager
 * moved the session to another member, whose settings these are (the same `ai` block as a
 * pipeline's start, its system prompts and its tools, transitions included).
 */
export const memberSwitchSchema = z.object({
  member_id: z.uuid(),
  ai: pipelineStartSchema.shape.ai,
  messages: z.array(z.string()),
  tools: pipelineStartSchema.shape.tools,
});
export type MemberSwitchSettings = z.infer<typeof memberSwitchSchema>;

/**
 * The new member's providers, built like a session's at its start. A provider that cannot be
 * built throws (the tool call fails and the member before goes on answering).
 */
export function buildMemberSwitch(
  providers: ProviderSource,
  settings: MemberSwitchSettings,
  warn: (message: string, error: unknown) => void,
  listening: PipelineStart['ai'],
): MemberSwitch {
  const systemMessages = settings.messages;
  const history = systemMessages.map((content) => ({ role: 'system' as const, content }));
  return {
    language: settings.ai.stt_language,
    // The caller's recogniser changes only when the member would hear differently.
    ...(recogniserOf(settings.ai) === recogniserOf(listening) ? {} : { stt: providerFailure(() => providers.stt(settings.ai)) }),
    llm: providerFailure(() => providers.llm(settings.ai, history)),
    // The voice goes with every sentence's TTS options (BotSpeech), as at the start.
    tts: providerFailure(() => providers.tts(settings.ai)),
    voiceId: settings.ai.tts_voice_id,
    tools: settings.tools,
    // How the member takes turns and hears speech (defaults where it sets nothing).
    turnConfig: settings.ai.turn_config,
    vadConfig: settings.ai.vad_config,
    systemMessages,
    ...fallbackProviders(providers, settings.ai, history, warn),
  };
}

/** What decides how the caller is heard: the recogniser, its language and the phrases it listens for. */
export function recogniserOf(ai: PipelineStart['ai']): string {
  return JSON.stringify([ai.stt_type, ai.stt_language, ai.parameter.stt_phrases ?? null]);
}
