import { defaultStallConfig, type StallConfig } from '@avp/shared';
import type { LlmEvent, LlmProvider, LlmRequest } from '../providers/types.ts';

/** What is done about a stalled provider, in the order it happens. */
export type StallAction = 'filler' | 'retry' | 'fallback' | 'gave_up';

/** The AI's `turn_config.stall` with the defaults filled in, in milliseconds. */
export interface StallSettings {
  timeoutMs: number;
  /** '' = no filler. */
  fillerText: string;
  /** '' = end without an apology. */
  apologyText: string;
}

export function stallSettings(config: StallConfig | undefined): StallSettings {
  return {
    timeoutMs: (config?.timeout_secs ?? defaultStallConfig.timeout_secs) * 1000,
    fillerText: config?.filler_text ?? defaultStallConfig.filler_text,
    apologyText: config?.apology_text ?? defaultStallConfig.apology_text,
  };
}

/** Every try of a stage stalled (same provider twice, then the fallback if there is one). */
export class StallError extends Error {
  constructor(
    readonly stage: 'llm' | 'tts',
    /** The provider that stalled last. */
    readonly provider: string,
    message: string,
  ) {
    super(message);
    this.name = 'StallError';
  }
}

export function isStallError(error: unknown): error is StallError {
  return error instanceof StallError;
}

/**
 * The tries of one stage: the provider, the same provider again, then the fallback. A stall
 * is never retried more than that: the caller is waiting.
 */
export function stallAttempts<T>(primary: T, fallback: T | undefined): T[] {
  return fallback ? [primary, primary, fallback] : [primary, primary];
}

/** An AbortController that follows `parent`; `release` detaches it. */
export function followSignal(parent: AbortSignal | undefined): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, release: () => undefined };
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, release: () => parent.removeEventListener('abort', onAbort) };
}

const timedOut = Symbol('stalled');

/**
 * `next` unless `ms` pass first (resolves `timedOut`) or `signal` aborts (rejects). A lost
 * race leaves `next` to settle unobserved.
 */
export function raceStall<T>(next: Promise<T>, ms: number | undefined, signal: AbortSignal | undefined): Promise<T | typeof timedOut> {
  if (ms === undefined && !signal) return next;
  return new Promise<T | typeof timedOut>((resolve, reject) => {
    const timer = ms === undefined ? undefined : setTimeout(() => finish(() => resolve(timedOut)), ms);
    const onAbort = () => finish(() => reject(signal?.reason));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    next.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}

export function isTimedOut(value: unknown): value is typeof timedOut {
  return value === timedOut;
}

/** What a watched stream tells its owner. */
export interface StallHooks {
  timeoutMs: number;
  /** A stall action (for the conversation's `stall` event); `provider` is the one that stalled. */
  report(action: StallAction, provider: string): void;
  /** Has the caller hear a filler while the next try runs; true when one is on its way. */
  filler?(): boolean;
}

/**
 * The next try after `provider` stalled on try `index` of `attempts`: reports the filler (first
 * stall only) and the action, or gives up with a {@link StallError}.
 */
export function afterStall<T extends { name: string }>(stage: 'llm' | 'tts', attempts: T[], index: number, hooks: StallHooks, what: string): void {
  const provider = attempts[index]!.name;
  if (index === 0 && hooks.filler?.()) hooks.report('filler', provider);
  const next = attempts[index + 1];
  if (!next) {
    hooks.report('gave_up', provider);
    const tried = [...new Set(attempts.map((attempt) => attempt.name))].join(' and ');
    throw new StallError(stage, provider, `no ${what} within ${hooks.timeoutMs / 1000} s from ${tried} (${attempts.length} tries)`);
  }
  hooks.report(next === attempts[index] ? 'retry' : 'fallback', provider);
}

/**
 * An LLM response under the stall watchdog: no output (text or tool call) within
 * `timeoutMs` aborts the request and tries again (same provider, then the fallback). Once
 * output has come, the stream is the provider's; later gaps are the resilience layer's.
 * `onProvider` names the provider whose stream is being read (usage is reported under it).
 */
export async function* watchLlmStream(
  attempts: LlmProvider[],
  request: LlmRequest,
  hooks: StallHooks & { onProvider?(name: string): void },
): AsyncGenerator<LlmEvent> {
  for (let index = 0; ; index++) {
    const llm = attempts[index]!;
    hooks.onProvider?.(llm.name);
    const { controller, release } = followSignal(request.signal);
    const iterator = llm.stream({ ...request, signal: controller.signal })[Symbol.asyncIterator]();
    let stalled = false;
    try {
      let output = false;
      for (;;) {
        const next = iterator.next();
        // Once output came the provider's own stream (which follows the signal) is read as is.
        const result = output ? await next : await raceStall(next, hooks.timeoutMs, request.signal);
        if (isTimedOut(result)) {
          next.catch(() => undefined);
          stalled = true;
          break;
        }
        if (result.done) return;
        if (result.value.type !== 'usage') output = true;
        yield result.value;
      }
    } finally {
      release();
      if (stalled || !controller.signal.aborted) controller.abort(new Error(stalled ? `${llm.name} stalled` : 'stream finished'));
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
    afterStall('llm', attempts, index, hooks, 'first token');
  }
}
