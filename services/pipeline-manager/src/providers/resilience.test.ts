import { describe, expect, it } from 'vitest';
import { ProviderError } from './provider-error.ts';
import { backoffMs, defaultResiliencePolicy, withLlmResilience } from './resilience.ts';
import { collect, collectError } from './testing/collect.ts';
import type { LlmEvent, LlmProvider } from './types.ts';

const policy = { ...defaultResiliencePolicy, initialBackoffMs: 1, maxBackoffMs: 1, maxAttempts: 3 };

function scriptedFailures(failures: unknown[]): LlmProvider & { calls: number } {
  const provider = {
    name: 'fake.model',
    calls: 0,
    async *stream(): AsyncIterable<LlmEvent> {
      const failure = failures[provider.calls++];
      if (failure) throw failure;
      yield { type: 'text-delta', text: 'ok' };
      yield { type: 'done', finishReason: 'stop' };
    },
  };
  return provider;
}

describe('resilience wrapper', () => {
  it('grows backoff exponentially up to the ceiling, with jitter in the upper half', () => {
    const settings = { ...defaultResiliencePolicy, initialBackoffMs: 100, maxBackoffMs: 1_000 };
    expect(backoffMs(settings, 1, () => 0)).toBe(50);
    expect(backoffMs(settings, 1, () => 1)).toBe(100);
    expect(backoffMs(settings, 3, () => 1)).toBe(400);
    expect(backoffMs(settings, 10, () => 1)).toBe(1_000);
  });

  it('retries retryable failures up to maxAttempts and gives up with the last error', async () => {
    const flaky = scriptedFailures([new ProviderError('server', 'a'), new ProviderError('rate_limit', 'b')]);
    expect(await collect(withLlmResilience(flaky, policy).stream({ messages: [] }))).toHaveLength(2);
    expect(flaky.calls).toBe(3);

    const broken = scriptedFailures([new ProviderError('server', 'a'), new ProviderError('server', 'b'), new ProviderError('server', 'c')]);
    expect(await collectError(withLlmResilience(broken, policy).stream({ messages: [] }))).toMatchObject({ message: 'c' });
    expect(broken.calls).toBe(3);
  });

  it('does not retry permanent failures', async () => {
    const denied = scriptedFailures([new ProviderError('auth', 'no')]);
    expect(await collectError(withLlmResilience(denied, policy).stream({ messages: [] }))).toMatchObject({ category: 'auth' });
    expect(denied.calls).toBe(1);
  });

  it('stops waiting between attempts when the caller aborts', async () => {
    const controller = new AbortController();
    const slow = scriptedFailures([new ProviderError('server', 'a')]);
    const stream = withLlmResilience(slow, { ...policy, initialBackoffMs: 60_000, maxBackoffMs: 60_000 }).stream({ messages: [], signal: controller.signal });
    const reason = new Error('hang-up');
    const pending = collectError(stream);
    setTimeout(() => controller.abort(reason), 5);
    expect(await pending).toBe(reason);
    expect(slow.calls).toBe(1);
  });

  it('times out a provider that ignores its abort signal', async () => {
    const stuck: LlmProvider = {
      name: 'stuck.model',
      stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<LlmEvent>>(() => {}) }) }),
    };
    const error = await collectError(withLlmResilience(stuck, { ...policy, maxAttempts: 1, firstEventTimeoutMs: 20 }).stream({ messages: [] }));
    expect(error).toMatchObject({ category: 'timeout', retryable: true, provider: 'stuck.model' });
  });
});
