import { isAppError, rpcCall, type Bus, type Logger } from '@avp/shared';

/** What flow-manager's `POST /v1/conversation_messages` takes. */
export interface FlowStartRequest {
  customer_id: string;
  conversation_id: string;
  message_id: string;
  source: string;
  destination: string;
  text: string;
  flow_id?: string;
}

export interface FlowStartSettings {
  /** Tries in all (default 5). */
  attempts: number;
  /** First wait between tries, doubled each time (default 500 ms). */
  retryBaseMs: number;
  /** Longest wait for one answer (default 5000 ms). */
  timeoutMs: number;
}

/** Statuses that say flow-manager was not reached or failed, not that the request is wrong. */
const transient = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'REQUEST_TIMEOUT', 'INTERNAL']);

/**
 * Asks flow-manager to run the message flow of stored inbound messages, in the background:
 * the vendor's webhook must be answered fast (LINE gives 2 s), and the message is stored
 * before this starts, so it is never lost. When flow-manager cannot be reached the start is
 * retried with backoff a few times and then logged; a refusal (no such number or flow) is
 * logged at once.
 */
export class FlowStarts {
  private readonly pending = new Set<Promise<void>>();
  private readonly timers = new Map<NodeJS.Timeout, () => void>();
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly serviceName: string,
    private readonly logger: Logger,
    private readonly settings: FlowStartSettings = { attempts: 5, retryBaseMs: 500, timeoutMs: 5000 },
  ) {}

  /** Starts asking; returns at once. */
  request(start: FlowStartRequest): void {
    const run = this.run(start).finally(() => this.pending.delete(run));
    this.pending.add(run);
  }

  /** Resolves when no start is in flight (tests). */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stops retrying (shutdown); a start not yet made stays stored with its message, logged. */
  stop(): void {
    this.stopped = true;
    for (const [timer, wake] of this.timers) {
      clearTimeout(timer);
      wake();
    }
    this.timers.clear();
  }

  private async run(start: FlowStartRequest): Promise<void> {
    const context = { conversationId: start.conversation_id, messageId: start.message_id };
    for (let attempt = 1; ; attempt++) {
      try {
        await rpcCall(this.bus, 'flow-manager', 'POST', '/v1/conversation_messages', start, { publisher: this.serviceName, timeoutMs: this.settings.timeoutMs });
        this.logger.debug(context, 'message flow started');
        return;
      } catch (error) {
        const retry = !isAppError(error) || transient.has(error.status);
        if (!retry || attempt >= this.settings.attempts || this.stopped) {
          this.logger.error({ ...context, err: error, attempts: attempt }, retry ? 'flow-manager could not be reached: the message flow did not start' : 'flow-manager refused to run the message flow');
          return;
        }
        this.logger.warn({ ...context, err: error, attempt }, 'flow-manager not reached; retrying the message flow start');
        await this.wait(this.settings.retryBaseMs * 2 ** (attempt - 1));
        if (this.stopped) return;
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, resolve);
    });
  }
}
