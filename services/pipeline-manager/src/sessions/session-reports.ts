import { isAppError } from '@avp/shared';
import type { ConversationEvent, TurnLatency } from '../pipeline/conversation.ts';

/** Retries a report that failed in transport (timeout, no service) a few times; other errors are final. */
export async function withRetries<T>(send: () => Promise<T>, attempts = 3, delayMs = 500): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      const transient = isAppError(error) && (error.reason === 'RPC_TIMEOUT' || error.reason === 'SERVICE_UNAVAILABLE' || error.httpStatus >= 500);
      if (!transient || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * attempt));
    }
  }
}

export function usageFields(event: Extract<ConversationEvent, { type: 'usage' }>): Record<string, unknown> {
  return {
    kind: event.kind,
    provider: event.provider,
    ...(event.inputTokens !== undefined ? { input_tokens: event.inputTokens } : {}),
    ...(event.outputTokens !== undefined ? { output_tokens: event.outputTokens } : {}),
    ...(event.characters !== undefined ? { characters: event.characters } : {}),
    ...(event.audioSeconds !== undefined ? { audio_seconds: event.audioSeconds } : {}),
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
  }).filter((entry): entry is [string, number] => entry[1] !== undefined);
  return Object.fromEntries(entries);
}
