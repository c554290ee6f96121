import { classifyProviderError, isAbortFrom, ProviderError } from './provider-error.ts';
import type { LlmProvider, SttProvider, SttSession, SttEvent, TtsEvent, TtsOptions, TtsProvider, TtsSession } from './types.ts';

/**
 * Retries and timeouts for every provider, in one place. Providers themselves never retry
 * (their SDKs are built with `maxRetries: 0`) and never time out on their own.
 */
export interface ResiliencePolicy {
  /** Attempts in all, the first included. Retries happen only before the first event. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** Opening a streaming session (STT socket). */
  connectTimeoutMs: number;
  /** Request sent (or text pushed) -> first token / first audio byte. */
  firstEventTimeoutMs: number;
  /** Longest gap between two events while more are expected. */
  idleTimeoutMs: number;
}

export const defaultResiliencePolicy: ResiliencePolicy = {
  maxAttempts: 3,
  initialBackoffMs: 250,
  maxBackoffMs: 2_000,
  connectTimeoutMs: 5_000,
  firstEventTimeoutMs: 10_000,
  idleTimeoutMs: 10_000,
};

/** Exponential backoff with full jitter. */
export function backoffMs(policy: ResiliencePolicy, attempt: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What `open` may do with its attempt's timer. */
export interface WatchdogHandle {
  arm(ms: number, what: string): void;
  disarm(): void;
  readonly armed: boolean;
}

/** One timer that aborts an attempt with a timeout error. */
class Watchdog implements WatchdogHandle {
  private timer: NodeJS.Timeout | undefined;
  fired: ProviderError | undefined;

  constructor(
    private readonly controller: AbortController,
    private readonly provider: string,
  ) {}

  arm(ms: number, what: string): void {
    this.disarm();
    this.timer = setTimeout(() => {
      this.fired = new ProviderError('timeout', `${this.provider}: no ${what} within ${ms} ms`, { provider: this.provider });
      this.controller.abort(this.fired);
    }, ms);
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** An AbortController that follows `parent`; `release` detaches it. */
function childController(parent: AbortSignal | undefined): { controller: AbortController; release: () => void } {
  const controller = new AbortController();
  if (!parent) return { controller, release: () => {} };
  const onAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onAbort, { once: true });
  return { controller, release: () => parent.removeEventListener('abort', onAbort) };
}

/** Awaits `promise` unless `signal` aborts first (a stuck vendor stream must not hang us). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // its failure no longer matters, but must not go unhandled
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

interface StreamControl {
  /** Whether more events are due (arms the idle timer); default always. */
  expectingMore?: () => boolean;
  /** Whether an event is vendor output that rules out a retry; default: anything but usage. */
  isOutput?: (event: unknown) => boolean;
}

const isNotUsage = (event: unknown) => (event as { type?: string }).type !== 'usage';

/**
 * Runs `open` with retries before the first event and first-event / idle timeouts. The
 * timers pause while the consumer holds an event, so a slow consumer is not a slow vendor.
 */
export async function* resilientStream<T>(options: {
  provider: string;
  policy: ResiliencePolicy;
  signal?: AbortSignal;
  open: (signal: AbortSignal, watchdog: WatchdogHandle) => AsyncIterable<T>;
  control?: StreamControl;
  /** Arm the first-event timer at start (LLM) or let `open`'s caller arm it (TTS: at first text). */
  armAtStart?: boolean;
}): AsyncGenerator<T> {
  const { provider, policy, signal } = options;
  for (let attempt = 1; ; attempt++) {
    const { controller, release } = childController(signal);
    const watchdog = new Watchdog(controller, provider);
    let started = false;
    let iterator: AsyncIterator<T> | undefined;
    try {
      if (options.armAtStart !== false) watchdog.arm(policy.firstEventTimeoutMs, 'first event');
      iterator = options.open(controller.signal, watchdog)[Symbol.asyncIterator]();
      for (;;) {
        const result = await raceAbort(iterator.next(), controller.signal);
        if (result.done) return;
        if (!(options.control?.isOutput ?? isNotUsage)(result.value)) {
          // Bookkeeping (usage) is not vendor output: the running timer keeps running.
          yield result.value;
          continue;
        }
        started = true;
        watchdog.disarm();
        yield result.value;
        if (options.control?.expectingMore?.() ?? true) watchdog.arm(policy.idleTimeoutMs, 'event');
      }
    } catch (caught) {
      if (signal?.aborted && !watchdog.fired) throw signal.reason;
      const error = watchdog.fired ?? (isAbortFrom(controller.signal, caught) ? controller.signal.reason : caught);
      const classified = classifyProviderError(error, provider);
      if (started || !classified.retryable || attempt >= policy.maxAttempts) throw classified;
    } finally {
      // The attempt's sockets and requests are released before any backoff.
      watchdog.disarm();
      release();
      if (iterator?.return) void Promise.resolve(iterator.return()).catch(() => {});
      if (!controller.signal.aborted) controller.abort(new Error('stream finished'));
    }
    // Only a retryable failure gets here (success returns, everything else throws).
    await sleep(backoffMs(policy, attempt), signal);
  }
}

/** An LLM with the policy's retries and timeouts. */
export function withLlmResilience(llm: LlmProvider, policy: ResiliencePolicy = defaultResiliencePolicy): LlmProvider {
  return {
    name: llm.name,
    stream: (request) =>
      resilientStream({
        provider: llm.name,
        policy,
        signal: request.signal,
        open: (signal) => llm.stream({ ...request, signal }),
      }),
  };
}

/**
 * A TTS engine with retries before the session's first audio byte (the new attempt
 * replays the text pushed so far), a first-byte timeout from each text that waits for
 * audio, and an idle timeout while audio is owed.
 */
export function withTtsResilience(tts: TtsProvider, policy: ResiliencePolicy = defaultResiliencePolicy): TtsProvider {
  return {
    name: tts.name,
    open(options: TtsOptions): TtsSession {
      const texts: string[] = [];
      let ended = false;
      let finished = 0;
      let current: TtsSession | undefined;
      let watchdog: WatchdogHandle | undefined;
      const armIfOwed = () => {
        if (watchdog && !watchdog.armed && finished < texts.length) watchdog.arm(policy.firstEventTimeoutMs, 'audio');
      };
      async function* track(events: AsyncIterable<TtsEvent>): AsyncIterable<TtsEvent> {
        for await (const event of events) {
          if (event.type === 'text-end') finished = Math.max(finished, event.textIndex + 1);
          yield event;
        }
      }
      const events = resilientStream<TtsEvent>({
        provider: tts.name,
        policy,
        signal: options.signal,
        armAtStart: false,
        control: { expectingMore: () => finished < texts.length, isOutput: (event) => (event as TtsEvent).type === 'audio' },
        open: (signal, handle) => {
          watchdog = handle;
          finished = 0;
          current = tts.open({ ...options, signal });
          for (const text of texts) current.push(text);
          if (ended) current.end();
          armIfOwed();
          return track(current.events);
        },
      });
      // Start the first attempt now, not on the first read, so the vendor connection opens
      // while the LLM is still writing the first sentence.
      const iterator = events[Symbol.asyncIterator]();
      const first = iterator.next();
      first.catch(() => {}); // the reader sees the failure; nobody reading is not an error
      let firstTaken = false;
      return {
        push(text: string): number {
          texts.push(text);
          current?.push(text);
          armIfOwed();
          return texts.length - 1;
        },
        end(): void {
          ended = true;
          current?.end();
        },
        events: {
          [Symbol.asyncIterator]: () => ({
            next: () => {
              if (firstTaken) return iterator.next();
              firstTaken = true;
              return first;
            },
            return: () => iterator.return(undefined),
          }),
        },
      };
    },
  };
}

/**
 * An STT engine whose `start` retries connection failures with backoff and gives up after
 * `connectTimeoutMs` per attempt. Errors during a session arrive as one classified `error`
 * event, after which the events end; the pipeline decides whether to start a new session.
 */
export function withSttResilience(stt: SttProvider, policy: ResiliencePolicy = defaultResiliencePolicy): SttProvider {
  return {
    name: stt.name,
    async start(options) {
      for (let attempt = 1; ; attempt++) {
        const { controller, release } = childController(options.signal);
        const watchdog = new Watchdog(controller, stt.name);
        watchdog.arm(policy.connectTimeoutMs, 'connection');
        try {
          const session = await raceAbort(stt.start({ ...options, signal: controller.signal }), controller.signal);
          watchdog.disarm();
          return classifiedSession(session, stt.name, release);
        } catch (caught) {
          watchdog.disarm();
          release();
          if (options.signal?.aborted && !watchdog.fired) throw options.signal.reason;
          if (watchdog.fired) controller.abort(watchdog.fired);
          const classified = classifyProviderError(watchdog.fired ?? caught, stt.name);
          if (!classified.retryable || attempt >= policy.maxAttempts) throw classified;
          await sleep(backoffMs(policy, attempt), options.signal);
        }
      }
    },
  };
}

function classifiedSession(session: SttSession, provider: string, release: () => void): SttSession {
  async function* events(): AsyncIterable<SttEvent> {
    try {
      for await (const event of session.events) {
        if (event.type === 'error') {
          yield { type: 'error', error: classifyProviderError(event.error, provider) };
          return;
        }
        yield event;
      }
    } catch (caught) {
      yield { type: 'error', error: classifyProviderError(caught, provider) };
    } finally {
      release();
    }
  }
  const stream = events();
  return {
    write: (pcm) => session.write(pcm),
    finish: () => session.finish(),
    close: () => session.close(),
    events: stream,
  };
}
