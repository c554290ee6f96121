import { isAppError, type Bus, type Logger } from '@avp/shared';
import { Counter, Gauge, type Registry } from 'prom-client';
import { callFlowManager } from './flow-manager-rpc.ts';

export interface FlowGiveBackSettings {
  /** How long a hand-back flow-manager does not take is retried (default 10 minutes). */
  retryForMs: number;
  /** First wait between attempts; it doubles up to `maxRetryDelayMs`. */
  firstRetryDelayMs: number;
  maxRetryDelayMs: number;
  /** Hand-backs retried at once by this process; one beyond it is not retried (logged, counted). */
  maxPending: number;
}

export const defaultFlowGiveBackSettings: FlowGiveBackSettings = {
  retryForMs: 600_000,
  firstRetryDelayMs: 500,
  maxRetryDelayMs: 15_000,
  maxPending: 1000,
};

/** What a session hands back to its flow when it ends. */
export interface FlowHandBack {
  customerId: string;
  activeflowId: string;
  aicallId: string;
  /** `service_stop`: the flow goes on after ai_talk (with `actions` first); `stop`: the flow ends (stop_flow). */
  action: 'service_stop' | 'stop';
  body: Record<string, unknown>;
}

export interface FlowGiveBacksOptions {
  bus: Bus;
  serviceName: string;
  logger: Logger;
  metrics?: Registry;
  settings?: Partial<FlowGiveBackSettings>;
}

/** flow-manager may take it later: no answer, no broker or consumer, or its own failure. */
function mayPassLater(error: unknown): boolean {
  if (!isAppError(error)) return true;
  return error.reason === 'RPC_TIMEOUT' || error.reason === 'SERVICE_UNAVAILABLE' || error.reason === 'ROUTE_NOT_FOUND' || error.reason === 'NOT_READY' || error.httpStatus >= 500;
}

/**
 * Hands flows back to flow-manager when their AI session ends, until flow-manager takes it.
 * The first attempt is made at once (the caller awaits it, as before); when flow-manager
 * cannot be reached it is retried in the background with backoff for `retryForMs`, so the
 * event handler that ended the session never waits on it. The activeflow gone (404) or not
 * running this session any more (409: it has ended, or an earlier attempt got through) is
 * done. A hand-back that still fails is an error log and `ai_manager_flow_give_backs_failed_total`.
 * Pending retries live in this process: an ai-manager that dies meanwhile loses them.
 */
export class FlowGiveBacks {
  readonly settings: FlowGiveBackSettings;
  private readonly logger: Logger;
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly failed?: Counter<'reason'>;
  private stopped = false;

  constructor(private readonly options: FlowGiveBacksOptions) {
    this.settings = { ...defaultFlowGiveBackSettings, ...options.settings };
    this.logger = options.logger.child({ component: 'flow-give-back' });
    if (!options.metrics) return;
    const pendingNow = (): number => this.pending.size;
    new Gauge({
      name: 'ai_manager_flow_give_backs_pending',
      help: 'Flow hand-backs (service_stop, stop) to flow-manager being retried by this process.',
      registers: [options.metrics],
      collect() {
        this.set(pendingNow());
      },
    });
    this.failed = new Counter({
      name: 'ai_manager_flow_give_backs_failed_total',
      help: 'Flow hand-backs flow-manager never took: gave_up (retries exhausted), refused (4xx), too_many (over the pending bound) or shutdown.',
      labelNames: ['reason'] as const,
      registers: [options.metrics],
    });
  }

  /** Hand-backs being retried now. */
  get size(): number {
    return this.pending.size;
  }

  /** Tries the hand-back once and settles; when flow-manager could not be reached, retries it in the background. */
  async handBack(handBack: FlowHandBack): Promise<void> {
    if (this.pending.has(handBack.aicallId)) return; // Already being retried.
    await this.attempt(handBack, Date.now(), this.settings.firstRetryDelayMs, 1);
  }

  /** Cancels the pending retries (process shutdown); each is logged as lost. */
  stop(): void {
    this.stopped = true;
    for (const [aicallId, timer] of this.pending) {
      clearTimeout(timer);
      this.failed?.inc({ reason: 'shutdown' });
      this.logger.error({ aicallId }, 'shutting down: a flow was NOT given back to flow-manager');
    }
    this.pending.clear();
  }

  private async attempt(handBack: FlowHandBack, started: number, delay: number, attempt: number): Promise<void> {
    const { customerId, activeflowId, aicallId, action, body } = handBack;
    const context = { aicallId, activeflowId, action, attempt };
    try {
      await callFlowManager(this.options, customerId, 'POST', `/v1/activeflows/${activeflowId}/${action}`, body);
      this.pending.delete(aicallId);
      if (attempt > 1) this.logger.info(context, 'flow given back after retries');
    } catch (error) {
      this.pending.delete(aicallId);
      // The flow has ended (the caller hung up), moved on, or an earlier attempt got through.
      // (A 404 ROUTE_NOT_FOUND is no flow-manager serving the queue, not a missing activeflow.)
      if (isAppError(error) && error.reason !== 'ROUTE_NOT_FOUND' && (error.httpStatus === 404 || error.httpStatus === 409)) return;
      if (!mayPassLater(error)) return this.lose({ ...context, err: error }, 'refused', 'flow-manager refused to take the flow back');
      if (this.stopped) return this.lose({ ...context, err: error }, 'shutdown', 'shutting down: a flow was NOT given back to flow-manager');
      if (Date.now() - started >= this.settings.retryForMs) {
        return this.lose({ ...context, err: error, retriedMs: Date.now() - started }, 'gave_up', 'flow-manager did not take the flow back; giving up');
      }
      if (this.pending.size >= this.settings.maxPending) {
        return this.lose({ ...context, err: error, maxPending: this.settings.maxPending }, 'too_many', 'too many flows waiting to be given back; this one is NOT retried');
      }
      if (attempt === 1) this.logger.warn({ ...context, err: error }, 'could not give the flow back; retrying in the background');
      const next = Math.min(delay * 2, this.settings.maxRetryDelayMs);
      this.pending.set(
        aicallId,
        setTimeout(() => void this.attempt(handBack, started, next, attempt + 1), delay),
      );
    }
  }

  private lose(context: Record<string, unknown>, reason: string, message: string): void {
    this.failed?.inc({ reason });
    this.logger.error(context, message);
  }
}
