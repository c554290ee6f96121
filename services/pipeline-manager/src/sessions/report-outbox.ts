import { randomUUID } from 'node:crypto';
import { isAppError, type Logger } from '@avp/shared';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface ReportOutboxSettings {
  /** Reports held at once by this process, over all AIcalls; a report beyond it is dropped (counted). */
  capacity: number;
  /** How long a report that fails transiently is retried before it is given up as lost. */
  retryForMs: number;
  /** First wait between attempts; it doubles up to `maxRetryDelayMs`. */
  firstRetryDelayMs: number;
  maxRetryDelayMs: number;
}

export const defaultReportOutboxSettings: ReportOutboxSettings = {
  capacity: 10_000,
  retryForMs: 60_000,
  firstRetryDelayMs: 200,
  maxRetryDelayMs: 5000,
};

/** Sends one report; `reportId` is the same on every attempt, so ai-manager stores it once. */
export type ReportSend = (reportId: string) => Promise<unknown>;

export interface ReportOptions {
  /** The report's idempotency key when it already has one (a usage event's id); default a new UUID. */
  id?: string;
  /** Taken even when the buffer is full (one per pipeline: its `pipeline_terminated` event). */
  essential?: boolean;
}

/**
 * Whether a failed report may succeed later: no answer in time, no connection to the broker,
 * no consumer on the queue (a broker or ai-manager restart), a server-side failure (ai-manager
 * lost its database) or a rate limit. Anything else (400, 404, 409) is ai-manager's final word.
 */
export function isTransientReportFailure(error: unknown): boolean {
  if (!isAppError(error)) return true; // A bus or socket error, not an answer.
  return (
    error.reason === 'RPC_TIMEOUT' ||
    error.reason === 'SERVICE_UNAVAILABLE' ||
    error.reason === 'ROUTE_NOT_FOUND' ||
    error.reason === 'NOT_READY' ||
    error.httpStatus === 429 ||
    error.httpStatus >= 500
  );
}

export interface ReportOutboxOptions {
  logger: Logger;
  /** The service's Prometheus registry (none: no metrics, as in unit tests of other parts). */
  metrics?: Registry;
  settings?: Partial<ReportOutboxSettings>;
}

/**
 * The pipelines' reports to ai-manager (messages, streamed text, usage, status, events), held
 * in this process until they are delivered. Each AIcall is one ordered stream: a report goes out
 * only after the one before it was delivered, refused or given up, so ai-manager stores the
 * conversation in the order it happened. A transient failure is retried with backoff for
 * `retryForMs` (a broker restart or a database outage of a minute loses nothing); the
 * conversation never waits for any of this. What is lost anyway (buffer full, retries
 * exhausted, process death) is logged at error level and counted.
 */
export class ReportOutbox {
  readonly settings: ReportOutboxSettings;
  private readonly logger: Logger;
  private readonly tails = new Map<string, Promise<void>>();
  private held = 0;
  private readonly retries?: Counter<'kind'>;
  private readonly dropped?: Counter<'kind' | 'reason'>;

  constructor(options: ReportOutboxOptions) {
    this.settings = { ...defaultReportOutboxSettings, ...options.settings };
    this.logger = options.logger.child({ component: 'report-outbox' });
    const registry = options.metrics;
    if (!registry) return;
    const heldNow = (): number => this.held;
    new Gauge({
      name: 'pipeline_manager_reports_queued',
      help: 'Reports to ai-manager held by this process, not yet delivered (bounded by REPORT_BUFFER_SIZE).',
      registers: [registry],
      collect() {
        this.set(heldNow());
      },
    });
    this.retries = new Counter({
      name: 'pipeline_manager_report_retries_total',
      help: 'Attempts to deliver a report to ai-manager again after a transient failure, by report kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'pipeline_manager_reports_dropped_total',
      help: 'Reports to ai-manager that were not stored: buffer_full, gave_up (retries exhausted) or refused (4xx), by kind.',
      labelNames: ['kind', 'reason'] as const,
      registers: [registry],
    });
  }

  /** Reports held now (queued or being sent). */
  get size(): number {
    return this.held;
  }

  /**
   * Queues a report on the stream of an AIcall and returns its idempotency key, or undefined
   * when the buffer is full and the report was dropped. Never throws, never waits.
   */
  add(stream: string, kind: string, send: ReportSend, options: ReportOptions = {}): string | undefined {
    const id = options.id ?? randomUUID();
    if (!options.essential && this.held >= this.settings.capacity) {
      this.dropped?.inc({ kind, reason: 'buffer_full' });
      this.logger.error({ aicallId: stream, kind, reportId: id, capacity: this.settings.capacity }, 'report buffer full: a report to ai-manager is LOST');
      return undefined;
    }
    this.held++;
    const previous = this.tails.get(stream) ?? Promise.resolve();
    const tail = previous.then(() => this.deliver(stream, kind, id, send)).finally(() => {
      this.held--;
      if (this.tails.get(stream) === tail) this.tails.delete(stream);
    });
    this.tails.set(stream, tail);
    return id;
  }

  /** Settles once every report queued so far on the stream was delivered, refused or given up. */
  drained(stream: string): Promise<void> {
    return this.tails.get(stream) ?? Promise.resolve();
  }

  /** Settles once every stream has drained (as far as queued now). */
  async drainedAll(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }

  private async deliver(stream: string, kind: string, id: string, send: ReportSend): Promise<void> {
    const started = Date.now();
    let delay = this.settings.firstRetryDelayMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await send(id);
        if (attempt > 1) this.logger.info({ aicallId: stream, kind, reportId: id, attempt }, 'report delivered after retries');
        return;
      } catch (error) {
        const context = { err: error, aicallId: stream, kind, reportId: id, attempt };
        if (!isTransientReportFailure(error)) {
          this.dropped?.inc({ kind, reason: 'refused' });
          this.logger.warn(context, 'ai-manager refused a report; skipped');
          return;
        }
        if (Date.now() - started >= this.settings.retryForMs) {
          this.dropped?.inc({ kind, reason: 'gave_up' });
          this.logger.error({ ...context, retriedMs: Date.now() - started }, 'could not deliver a report to ai-manager: it is LOST');
          return;
        }
        if (attempt === 1) this.logger.warn(context, 'could not deliver a report to ai-manager; retrying');
        this.retries?.inc({ kind });
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, this.settings.maxRetryDelayMs);
      }
    }
  }
}
