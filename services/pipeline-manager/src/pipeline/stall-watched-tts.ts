import type { TtsEvent, TtsOptions, TtsProvider, TtsSession } from '../providers/types.ts';
import { afterStall, followSignal, isTimedOut, raceStall, stallAttempts, type StallHooks } from './stall-watchdog.ts';

/** The text index the filler's audio carries: it belongs to no sentence of the answer. */
export const FILLER_TEXT_INDEX = -1;

const POLL_MS = 250;

/** A TTS session under the stall watchdog; `provider` names the engine speaking now. */
export interface WatchedTtsSession extends TtsSession {
  readonly provider: string;
}

/**
 * One TTS session under the stall watchdog: no audio within `timeoutMs` of the first text
 * waiting for it aborts the engine's session and opens another (same engine, then the
 * fallback), replaying the texts pushed so far. On the first stall the fallback engine, if
 * there is one, says the filler (text index {@link FILLER_TEXT_INDEX}): the stalled engine
 * cannot. After every try stalled the events end with a `StallError`. Once audio has come,
 * the session is the engine's; later gaps are the resilience layer's.
 */
export function openWatchedTts(
  primary: TtsProvider,
  fallback: TtsProvider | undefined,
  options: TtsOptions,
  hooks: Omit<StallHooks, 'filler'> & { fillerText: string },
): WatchedTtsSession {
  const attempts = stallAttempts(primary, fallback);
  const texts: string[] = [];
  let ended = false;
  let current: TtsSession | undefined;
  let provider = primary.name;
  /** When the oldest text still waiting for audio was pushed (undefined: none waits). */
  let waitingSince: number | undefined;
  let output = false;

  function open(tts: TtsProvider, signal: AbortSignal): TtsSession {
    const session = tts.open({ ...options, signal });
    for (const text of texts) session.push(text);
    if (ended) session.end();
    return session;
  }

  /** The filler said by the fallback engine, bounded by the stall timeout. */
  async function* filler(): AsyncGenerator<TtsEvent> {
    if (!fallback || !hooks.fillerText) return;
    provider = fallback.name;
    const { controller, release } = followSignal(options.signal);
    try {
      const session = fallback.open({ ...options, signal: controller.signal });
      session.push(hooks.fillerText);
      session.end();
      const iterator = session.events[Symbol.asyncIterator]();
      for (;;) {
        const next = iterator.next();
        const result = await raceStall(next, hooks.timeoutMs, options.signal);
        if (isTimedOut(result)) {
          next.catch(() => undefined);
          return;
        }
        if (result.done) return;
        const event = result.value;
        if (event.type === 'usage') yield { type: 'usage', characters: event.characters };
        else yield { ...event, textIndex: FILLER_TEXT_INDEX };
      }
    } finally {
      release();
      controller.abort(new Error('filler over'));
    }
  }

  /** The engine's next event, or 'stalled' once a text waited `timeoutMs` for audio. */
  async function nextBeforeStall(next: Promise<IteratorResult<TtsEvent>>): Promise<IteratorResult<TtsEvent> | 'stalled'> {
    for (;;) {
      // The clock runs only while a text waits for audio (the LLM may still be writing): with
      // none pushed yet, look again every POLL_MS.
      const deadline = waitingSince === undefined ? undefined : waitingSince + hooks.timeoutMs;
      const raced = await raceStall(next, deadline === undefined ? POLL_MS : Math.max(0, deadline - performance.now()), options.signal);
      if (!isTimedOut(raced)) return raced;
      if (deadline !== undefined && performance.now() >= deadline) return 'stalled';
    }
  }

  async function* events(): AsyncGenerator<TtsEvent> {
    for (let index = 0; ; index++) {
      const tts = attempts[index]!;
      provider = tts.name;
      const { controller, release } = followSignal(options.signal);
      current = open(tts, controller.signal);
      if (texts.length > 0) waitingSince = performance.now();
      const iterator = current.events[Symbol.asyncIterator]();
      let stalled = false;
      try {
        for (;;) {
          const next = iterator.next();
          // Once audio came the engine's own stream (which follows the signal) is read as is.
          const result = output ? await next : await nextBeforeStall(next);
          if (result === 'stalled') {
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
        current = undefined;
        if (stalled || !controller.signal.aborted) controller.abort(new Error(stalled ? `${tts.name} stalled` : 'session over'));
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
      const withFiller = index === 0 && Boolean(fallback && hooks.fillerText);
      afterStall('tts', attempts, index, { ...hooks, filler: () => withFiller }, 'audio');
      if (withFiller) yield* filler();
    }
  }

  return {
    get provider() {
      return provider;
    },
    push(text: string): number {
      texts.push(text);
      current?.push(text);
      if (waitingSince === undefined && !output) waitingSince = performance.now();
      return texts.length - 1;
    },
    end(): void {
      ended = true;
      current?.end();
    },
    events: events(),
  };
}
