import { isAppError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { listLivePipelines } from '../domain/aicalls/aicall-repository.ts';
import type { DomainContext } from '../domain/context.ts';
import type { PipelineInstances, SilentInstance } from './pipeline-instances.ts';

/** A live AIcall with a pipeline, as the watchdog reads it. */
export type LivePipeline = Awaited<ReturnType<typeof listLivePipelines>>[number];

export interface PipelineTakeoverOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  instances: PipelineInstances;
  serviceName: string;
  /** Resumes the session elsewhere, or ends it when no other instance takes it (the watchdog's handleLost). */
  handleLost: (aicall: LivePipeline, instanceId: string, why: string) => Promise<void>;
  /** Time between looks at the heartbeats (default 250 ms); 0 turns crash resumption's fast path off. */
  tickMs?: number;
  /** Longest wait for a silent instance to answer on its own queue (default 400 ms). */
  probeTimeoutMs?: number;
}

/** What a silent instance's own queue said. */
type Probe = 'alive' | 'gone' | 'timeout' | 'unknown';

/**
 * The fast path of crash resumption: notices within about a second that the pipeline-manager
 * process serving live sessions died, so another takes them over and the caller hears a gap of
 * about two seconds instead of losing the AI.
 *
 * Two pieces of evidence, both needed: the instance's heartbeats stopped while the heartbeat
 * path itself works (PipelineInstances: this process's bus up for the reconnect grace, other
 * instances heard), and the instance does not answer on its own queue (nothing serves it: 404
 * ROUTE_NOT_FOUND, as after kill -9; or no answer within `probeTimeoutMs`, as when stopped).
 * A broker restart silences everyone and this process's bus with them, so it never counts; an
 * instance that still answers is never taken over, whatever its heartbeats do.
 *
 * Taking over is exclusive (a compare-and-set on the AIcall's instance and epoch), and the old
 * pipeline is fenced by its epoch should it wake up (pipeline-fence.ts).
 */
export class PipelineTakeover {
  private readonly logger: Logger;
  private readonly tickMs: number;
  private readonly handling = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private lastTickAt = 0;

  constructor(private readonly options: PipelineTakeoverOptions) {
    this.logger = options.logger.child({ component: 'pipeline-takeover' });
    this.tickMs = options.tickMs ?? 250;
  }

  start(): void {
    if (this.tickMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.handling.values()]);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick();
      this.schedule();
    }, this.tickMs);
    this.timer.unref();
  }

  /** One look at the heartbeats; a silent instance is handled in the background (once at a time). */
  tick(): void {
    const now = Date.now();
    // This process itself was stalled (SIGSTOP, starvation): the heartbeats it did not read
    // meanwhile prove nothing, so listening starts afresh, as after a reconnect.
    if (this.lastTickAt > 0 && now - this.lastTickAt > this.tickMs + 1000) this.options.instances.observeBus(false);
    this.lastTickAt = now;
    this.options.instances.observeBus(this.options.bus.isHealthy());
    for (const silent of this.options.instances.silent()) {
      if (this.handling.has(silent.instanceId)) continue;
      const handled = this.handle(silent)
        .catch((error: unknown) => this.logger.error({ err: error, instanceId: silent.instanceId }, 'could not take over the sessions of a silent pipeline-manager'))
        .finally(() => this.handling.delete(silent.instanceId));
      this.handling.set(silent.instanceId, handled);
    }
  }

  /** Handles one silent instance; resolves once its sessions were resumed or ended. */
  async handle(silent: SilentInstance): Promise<void> {
    const { instanceId } = silent;
    const probe = await this.probe(instanceId);
    if (probe === 'alive' || probe === 'unknown') {
      this.logger.info({ instanceId, silentMs: silent.silentMs, probe }, 'a pipeline-manager sends no heartbeats but its queue is not proven dead; not taking over');
      return;
    }
    const seconds = (silent.silentMs / 1000).toFixed(1);
    const why =
      probe === 'gone'
        ? `pipeline-manager instance ${instanceId} is gone: no heartbeat for ${seconds} s and nothing serves its queue`
        : `pipeline-manager instance ${instanceId} sent no heartbeat for ${seconds} s and did not answer`;
    const live = (await listLivePipelines(this.options.domain.db)).filter((aicall) => aicall.pipeline_instance_id === instanceId);
    this.options.instances.forget(instanceId);
    if (live.length === 0) {
      this.logger.info({ instanceId, probe }, 'a pipeline-manager without sessions is gone');
      return;
    }
    this.logger.warn({ instanceId, sessions: live.length, probe, silentMs: silent.silentMs }, 'a pipeline-manager is lost; taking its sessions over');
    await Promise.all(live.map((aicall) => this.options.handleLost(aicall, instanceId, why)));
  }

  private async probe(instanceId: string): Promise<Probe> {
    try {
      await rpcCall(this.options.bus, 'pipeline-manager', 'GET', '/v1/ping', undefined, {
        instanceId,
        timeoutMs: this.options.probeTimeoutMs ?? 400,
        publisher: this.options.serviceName,
      });
      return 'alive';
    } catch (error) {
      if (isAppError(error) && error.reason === 'ROUTE_NOT_FOUND') return 'gone';
      if (isAppError(error) && error.reason === 'RPC_TIMEOUT') return 'timeout';
      return 'unknown';
    }
  }
}
