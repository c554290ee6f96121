import type { Bindings, ChildLoggerOptions, Level, Logger } from 'pino';

type LogMethod = (...args: unknown[]) => void;

/**
 * A request's logger that becomes a real pino child (with the request id bound) only when
 * something is logged at an enabled level. Fastify makes a child logger for every request; a
 * request that logs nothing (nearly all of them below `info`) then costs no child.
 */
export class LazyRequestLogger {
  #real: Logger | undefined;
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  readonly #threshold: number;

  constructor(parent: Logger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
    this.#threshold = parent.levels.values[options.level ?? parent.level] ?? 0;
  }

  get level(): string {
    return this.#real?.level ?? this.#options.level ?? this.#parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  isLevelEnabled(level: string): boolean {
    return this.#real ? this.#real.isLevelEnabled(level) : (this.#parent.levels.values[level] ?? Infinity) >= this.#threshold;
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#logger().child(bindings, options);
  }

  bindings(): Bindings {
    return this.#real ? this.#real.bindings() : { ...this.#parent.bindings(), ...this.#bindings };
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }

  error(...args: unknown[]): void {
    this.#log('error', args);
  }

  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }

  info(...args: unknown[]): void {
    this.#log('info', args);
  }

  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }

  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }

  silent(): void {}

  #log(level: Level, args: unknown[]): void {
    if (!this.isLevelEnabled(level)) return;
    (this.#logger()[level] as LogMethod)(...args);
  }

  #logger(): Logger {
    this.#real ??= this.#parent.child(this.#bindings, this.#options);
    return this.#real;
  }
}

/** Fastify's `childLoggerFactory` making {@link LazyRequestLogger}s. */
export function lazyChildLoggerFactory(logger: Logger, bindings: Bindings, options: ChildLoggerOptions): Logger {
  return new LazyRequestLogger(logger, bindings, options) as unknown as Logger;
}
