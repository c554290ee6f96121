import { isProviderError } from '../providers/provider-error.ts';

/** What a failed stage reports when it ends the session: the provider's category, or the stage's. */
export function failureDetails(error: unknown, stage: 'stt' | 'llm' | 'vad'): { category: string; message: string; provider?: string } {
  if (isProviderError(error)) return { category: error.category, message: error.message, provider: (error as { provider?: string }).provider };
  return { category: stage === 'vad' ? 'internal' : 'unknown', message: error instanceof Error ? error.message : String(error) };
}
