import type { LlmMessage } from '../providers/types.ts';
import type { ConversationOptions, MemberSwitch } from './conversation-types.ts';

/** A team member's engines, voice and tools in place of the previous member's. */
export function applyMember(options: ConversationOptions, change: MemberSwitch): void {
  options.llm = change.llm;
  options.tts = change.tts;
  options.voiceId = change.voiceId;
  options.tools = change.tools;
  options.fallbackLlm = change.fallbackLlm;
  options.fallbackTts = change.fallbackTts;
  options.language = change.language;
  options.turnConfig = change.turnConfig;
}

/** The member's system prompts replace the leading ones; the conversation after them stays. */
export function replaceSystemPrompts(messages: LlmMessage[], systemMessages: readonly string[]): void {
  let leading = 0;
  while (messages[leading]?.role === 'system') leading++;
  messages.splice(0, leading, ...systemMessages.map((content) => ({ role: 'system' as const, content })));
}
