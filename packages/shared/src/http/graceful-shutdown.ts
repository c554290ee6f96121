import type { Logger } from 'pino';

/** One step of shutdown, e.g. "stop consuming", "close http", "close database". */
export interface ShutdownStep {
  name: string;
  run: () => Promise<void>;
}

/**
 * Runs shutdown steps in the order they were added, once, on SIGTERM or SIGINT (or when
 * `shutdown()` is called). Each step is time-limited; a step that fails is logged and the
 * rest still run, so one stuck dependency never keeps the others open. Order the steps
 * "stop taking work, finish what is in flight, close connections".
 */
export class GracefulShutdown {
  private readonly steps: ShutdownStep[] = [];
  private draining = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly stepTimeoutMs = 10_000,
  ) {}

  /** Whether shutdown has begun (readiness turns false at once). */
  isDraining(): boolean {
    return this.draining;
  }

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  /** Runs every step; safe to call more than once (later calls share the first run). */
  shutdown(reason: string): Promise<void> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  /** Hooks SIGTERM and SIGINT; exits the process with 0 when done, 1 if a step failed. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.draining) {
        this.logger.warn({ signal }, 'second signal during shutdown: exiting now');
        process.exit(1);
      }
      this.shutdown(signal).then(
        () => process.exit(process.exitCode ?? 0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  private async runSteps(reason: string): Promise<void> {
    this.draining = true;
    this.logger.info({ reason }, 'shutting down');
    const started = performance.now();
    for (const step of this.steps) {
      const stepStarted = performance.now();
      try {
        await withTimeout(step.run(), this.stepTimeoutMs, step.name);
        this.logger.debug({ step: step.name, ms: Math.round(performance.now() - stepStarted) }, 'shutdown step done');
      } catch (error) {
        process.exitCode = 1;
        this.logger.error({ step: step.name, err: error }, 'shutdown step failed');
      }
    }
    this.logger.info({ ms: Math.round(performance.now() - started) }, 'shutdown complete');
  }
}

async function withTimeout(promise: Promise<void>, timeoutMs: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
