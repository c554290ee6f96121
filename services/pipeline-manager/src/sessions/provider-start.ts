import { appError } from '@avp/shared';
import { ProviderError } from '../providers/provider-error.ts';
import type { LlmProvider } from '../providers/types.ts';

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
          reject(error);
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
