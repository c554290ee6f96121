import { appError } from '@avp/shared';
import { ProviderError } from '../providers/provider-error.ts';
import { fallbackLlmAi, fallbackTtsAi, withVoice } from '../providers/fallback.ts';
import type { LlmMessage, LlmProvider, TtsProvider } from '../providers/types.ts';
import type { PipelineStart, ProviderSource } from './pipeline-start.ts';

/** A provider that cannot even be built (no key, unknown model) is the catalog's PROVIDER_ERROR. */
export function providerFailure<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw asProviderAppError(error);
  }
}

/** A ProviderError as a 500 PROVIDER_ERROR that keeps its message and category; anything else unchanged. */
function asProviderAppError(error: unknown): unknown {
  if (!(error instanceof ProviderError)) return error;
  return appError('PROVIDER_ERROR', error.message, { category: error.category, provider: error.provider, retryable: error.retryable });
}

/** Wraps an LLM so that `first` settles with its first output (or its first failure). */
export function watchFirstOutput(llm: LlmProvider): { llm: LlmProvider; first: Promise<void> } {
  let resolve: () => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const first = new Promise<void>((resolveFirst, rejectFirst) => {
    resolve = resolveFirst;
    reject = rejectFirst;
  });
  first.catch(() => undefined);
  return {
    first,
    llm: {
      name: llm.name,
      async *stream(request) {
        try {
          for await (const event of llm.stream(request)) {
            resolve();
            yield event;
          }
          resolve();
        } catch (error) {
          // An aborted request (a barge-in, the stall watchdog's next try) is no provider failure.
          if (!request.signal?.aborted) reject(error);
          throw error;
        }
      },
    },
  };
}

/** Waits for the greeting's first LLM output; a failure is a PROVIDER_ERROR, a slow provider is not. */
export async function confirmFirstOutput(first: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } catch (error) {
    throw asProviderAppError(error);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The AI's fallback providers for the stall watchdog. A fallback that cannot be built (no key
 * for its vendor in this deployment) is left out with a warning: the session runs on its own
 * providers, which is all it had before fallbacks existed.
 */
export function fallbackProviders(
  source: ProviderSource,
  ai: PipelineStart['ai'],
  messages: LlmMessage[],
  warn: (message: string, error: unknown) => void,
): { fallbackLlm?: LlmProvider; fallbackTts?: TtsProvider } {
  const built: { fallbackLlm?: LlmProvider; fallbackTts?: TtsProvider } = {};
  const llmAi = fallbackLlmAi(ai);
  const ttsAi = fallbackTtsAi(ai);
  try {
    if (llmAi) built.fallbackLlm = source.llm(llmAi, messages);
  } catch (error) {
    warn(`the fallback LLM ${llmAi?.engine_model} is not available`, error);
  }
  try {
    if (ttsAi) built.fallbackTts = withVoice(source.tts(ttsAi), ttsAi.tts_voice_id);
  } catch (error) {
    warn(`the fallback TTS ${ttsAi?.tts_type} is not available`, error);
  }
  return built;
}
