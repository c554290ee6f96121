import type { Bus, Logger } from '@avp/shared';

export interface InstanceHeartbeatOptions {
  bus: Bus;
  logger: Logger;
  serviceName: string;
  instanceId: string;
  /** This process's pipelines as the heartbeat names them. */
  pipelines: () => { aicall_id: string; pipeline_epoch: number; speaking: boolean }[];
  /** Time between heartbeats (default 250 ms); 0 = none (ai-manager then cannot take this process's sessions over quickly). */
  intervalMs?: number;
  /** A tick this much later than planned means the process was stopped or starved (default 2000 ms). */
  stallMs?: number;
  /** Called after such a stall, with its length: time to find out whether our pipelines were taken over. */
  onStall?: (stalledMs: number) => void;
}

/**
 * `pipeline_manager_heartbeat` every `intervalMs`: this process's id and its pipelines (with
 * their epochs and whether the bot is speaking). ai-manager's crash resumption reads a
 * process whose heartbeats stop, while others' keep coming and its queue is dead, as dead, and
 * hands its sessions to a live one.
 *
 * A heartbeat is sent only while the bus is connected and the one before was confirmed: a
 * heartbeat is worth nothing late, so none is queued or retried. A tick that comes far too late
 * means this process was stopped (SIGSTOP) or starved; `onStall` lets the liveness check ask at
 * once whether our sessions moved elsewhere meanwhile.
 */
export class InstanceHeartbeat {
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private lastTickAt = 0;
  private failures = 0;

  constructor(private readonly options: InstanceHeartbeatOptions) {
    this.intervalMs = options.intervalMs ?? 250;
  }

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    this.lastTickAt = Date.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const now = Date.now();
    const late = now - this.lastTickAt - this.intervalMs;
    this.lastTickAt = now;
    if (late >= (this.options.stallMs ?? 2000)) {
      this.options.logger.warn({ stalledMs: late }, 'this process was stalled; checking whether its pipelines were taken over');
      this.options.onStall?.(late);
    }
    if (this.inFlight || !this.options.bus.isHealthy()) return;
    this.inFlight = true;
    const data = { instance_id: this.options.instanceId, pipelines: this.options.pipelines(), sent_at: new Date(now).toISOString() };
    this.options.bus
      .publish(this.options.serviceName, { type: 'pipeline_manager_heartbeat', data })
      .then(
        () => (this.failures = 0),
        (error: unknown) => {
          // Once per outage, not four times a second.
          if (this.failures++ === 0) this.options.logger.warn({ err: error }, 'could not publish a heartbeat');
        },
      )
      .finally(() => (this.inFlight = false));
  }
}
