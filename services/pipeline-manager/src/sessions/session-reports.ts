import type { ConversationEvent, TurnLatency } from '../pipeline/conversation.ts';

export function usageFields(event: Extract<ConversationEvent, { type: 'usage' }>): Record<string, unknown> {
  return {
    kind: event.kind,
    provider: event.provider,
    ...(event.inputTokens !== undefined ? { input_tokens: event.inputTokens } : {}),
    ...(event.outputTokens !== undefined ? { output_tokens: event.outputTokens } : {}),
    ...(event.characters !== undefined ? { characters: event.characters } : {}),
    ...(event.audioSeconds !== undefined ? { audio_seconds: event.audioSeconds } : {}),
    ...(event.discarded ? { discarded: true } : {}),
  };
}

/** A turn's latencies as the durations stored with its answer (ms, rounded); undefined when it has none. */
export function latencyOf(turn: TurnLatency | undefined): Record<string, number> | undefined {
  if (!turn?.firstAudioAt) return undefined;
  const between = (from: number | undefined, to: number | undefined) => (from !== undefined && to !== undefined ? Math.round(to - from) : undefined);
  const entries = Object.entries({
    first_audio_ms: between(turn.userStoppedAt ?? turn.llmRequestAt, turn.firstAudioAt),
    stt_final_ms: between(turn.userStoppedAt, turn.sttFinalAt),
    llm_first_token_ms: between(turn.llmRequestAt, turn.llmFirstTokenAt),
    tts_first_byte_ms: between(turn.llmFirstTokenAt, turn.ttsFirstByteAt),
    end_of_turn_ms: between(turn.userStoppedAt, turn.turnEndAt),
  }).filter((entry): entry is [string, number] => entry[1] !== undefined);
  return Object.fromEntries(entries);
}
