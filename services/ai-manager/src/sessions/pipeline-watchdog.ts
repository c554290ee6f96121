import { isAppError, rpcCall, type Bus, type Logger } from '@avp/shared';
import { listLivePipelines, releaseLostPipeline } from '../domain/aicalls/aicall-repository.ts';
import { terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from './flow-manager-rpc.ts';

export interface PipelineWatchdogOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** Time between checks (default 2000 ms); 0 turns the watchdog off. */
  intervalMs?: number;
  /** Longest wait for a pipeline-manager instance's answer (default: the interval, at most 1000 ms). */
  probeTimeoutMs?: number;
  /** Unanswered checks in a row after which an instance counts as gone (default 2). */
  maxTimeouts?: number;
  /** Checks in a row in which a live instance does not know a pipeline before it counts as lost (default 2). */
  maxMisses?: number;
  /** Actions a tool left to run when the flow is given back (connect_call), by AIcall id. */
  pendingEnds?: Map<string, { actions?: unknown[] }>;
}

type LivePipeline = Awaited<ReturnType<typeof listLivePipelines>>[number];

/** What one pipeline-manager instance answered. */
type Probe =
  | { kind: 'alive'; pipelines: Set<string> | undefined }
  | { kind: 'gone'; why: string }
  | { kind: 'timeout' }
  | { kind: 'unknown' };

/**
 * Notices voice pipelines whose pipeline-manager process died and ends their sessions the
 * way a pipeline ending does, so the caller is not left in silence. Every few seconds it
 * asks each pipeline-manager instance that runs a live AIcall's pipeline which pipelines it
 * has (`GET /v1/pipelines` on the instance's own queue). The instance is gone when nothing
 * serves its queue any more (RabbitMQ deletes the auto-delete queue as soon as the dead
 * process's connection closes; the bus answers 404 ROUTE_NOT_FOUND) or when it leaves two
 * checks in a row unanswered (a hung process, or a host whose connection is not closed yet);
 * a pipeline is lost when its live instance does not know it two checks in a row (once could
 * be a pipeline that just ended normally, whose `pipeline_terminated` is still on its way).
 *
 * Ending a lost session: a notification message, the AIcall terminated, the call's external
 * media removed, and the flow given back (`service_stop`: it goes on after `ai_talk`).
 * Several ai-manager instances may all notice; clearing the AIcall's pipeline instance
 * (only while it is live and still names that instance) lets exactly one of them end it.
 */
export class PipelineWatchdog {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  /** Unanswered checks in a row, by pipeline-manager instance. */
  private readonly timeouts = new Map<string, number>();
  /** Checks in a row in which a live instance did not know the pipeline, by AIcall. */
  private readonly misses = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: PipelineWatchdogOptions) {
    this.logger = options.logger.child({ component: 'pipeline-watchdog' });
    this.intervalMs = options.intervalMs ?? 2000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.min(1000, Math.max(1, this.intervalMs));
  }

  start(): void {
    if (this.intervalMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.check().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One round: checks every instance that runs a live AIcall's pipeline. Never throws. */
  async check(): Promise<void> {
    try {
      const live = await listLivePipelines(this.options.domain.db);
      const byInstance = new Map<string, LivePipeline[]>();
      for (const aicall of live) {
        const instanceId = aicall.pipeline_instance_id!;
        byInstance.set(instanceId, [...(byInstance.get(instanceId) ?? []), aicall]);
      }
      // Counters of sessions and instances that are no longer live are forgotten.
      for (const instanceId of this.timeouts.keys()) if (!byInstance.has(instanceId)) this.timeouts.delete(instanceId);
      const liveIds = new Set(live.map((aicall) => aicall.id));
      for (const aicallId of this.misses.keys()) if (!liveIds.has(aicallId)) this.misses.delete(aicallId);
      await Promise.all([...byInstance].map(([instanceId, aicalls]) => this.checkInstance(instanceId, aicalls)));
    } catch (error) {
      this.logger.warn({ err: error }, 'pipeline check failed; trying again at the next one');
    }
  }

  private async checkInstance(instanceId: string, aicalls: LivePipeline[]): Promise<void> {
    const probe = await this.probe(instanceId);
    const lost: LivePipeline[] = [];
    let why = '';
    if (probe.kind === 'gone') {
      lost.push(...aicalls);
      why = probe.why;
    } else if (probe.kind === 'timeout') {
      const count = (this.timeouts.get(instanceId) ?? 0) + 1;
      this.timeouts.set(instanceId, count);
      this.logger.warn({ instanceId, unanswered: count }, 'a pipeline-manager instance did not answer the pipeline check');
      if (count >= (this.options.maxTimeouts ?? 2)) {
        lost.push(...aicalls);
        why = `pipeline-manager instance ${instanceId} did not answer ${count} checks in a row`;
      }
    } else if (probe.kind === 'alive') {
      this.timeouts.delete(instanceId);
      for (const aicall of aicalls) {
        // An older pipeline-manager cannot list its pipelines: being alive is all we know.
        if (!probe.pipelines || probe.pipelines.has(aicall.id)) {
          this.misses.delete(aicall.id);
          continue;
        }
        const count = (this.misses.get(aicall.id) ?? 0) + 1;
        this.misses.set(aicall.id, count);
        if (count >= (this.options.maxMisses ?? 2)) {
          lost.push(aicall);
          why = `pipeline-manager instance ${instanceId} no longer runs the pipeline`;
        }
      }
    }
    for (const aicall of lost) {
      await this.endLostSession(aicall, instanceId, why).catch((error: unknown) =>
        this.logger.error({ err: error, aicallId: aicall.id, instanceId }, 'could not end a session whose pipeline was lost'),
      );
    }
  }

  private async probe(instanceId: string): Promise<Probe> {
    const ask = <T>(uri: string) =>
      rpcCall<T>(this.options.bus, 'pipeline-manager', 'GET', uri, undefined, {
        instanceId,
        timeoutMs: this.probeTimeoutMs,
        publisher: this.options.serviceName,
      });
    try {
      const reply = await ask<{ result: { aicall_id: string }[] }>('/v1/pipelines');
      return { kind: 'alive', pipelines: new Set(reply.result.map((pipeline) => pipeline.aicall_id)) };
    } catch (error) {
      if (isAppError(error) && error.reason === 'RPC_TIMEOUT') return { kind: 'timeout' };
      if (!(isAppError(error) && error.reason === 'ROUTE_NOT_FOUND')) {
        // Our own bus being down (SERVICE_UNAVAILABLE) or an odd answer says nothing about the instance.
        this.logger.warn({ err: error, instanceId }, 'pipeline check inconclusive');
        return { kind: 'unknown' };
      }
    }
    // 404 ROUTE_NOT_FOUND: nothing serves the instance's queue, or the instance is a
    // pipeline-manager without the list route. `/v1/ping` exists in every version and tells.
    try {
      await ask('/v1/ping');
      return { kind: 'alive', pipelines: undefined };
    } catch (error) {
      if (isAppError(error) && error.reason === 'ROUTE_NOT_FOUND') return { kind: 'gone', why: `pipeline-manager instance ${instanceId} is gone` };
      if (isAppError(error) && error.reason === 'RPC_TIMEOUT') return { kind: 'timeout' };
      return { kind: 'unknown' };
    }
  }

  private async endLostSession(aicall: LivePipeline, instanceId: string, why: string): Promise<void> {
    const { domain } = this.options;
    // Only the caller that takes the AIcall off the instance ends it: another ai-manager
    // instance, or the pipeline's own end, may have come first.
    const row = await releaseLostPipeline(domain.db, aicall.id, instanceId);
    this.misses.delete(aicall.id);
    if (!row) return;
    this.logger.warn({ aicallId: row.id, instanceId, callId: row.reference_id, reason: why }, 'voice pipeline lost; ending the session');
    await recordAimessage(domain, row.id, {
      role: 'notification',
      direction: 'incoming',
      content: `The session ended: the voice pipeline stopped unexpectedly (${why}).`,
    }).catch((error: unknown) => this.logger.warn({ err: error, aicallId: row.id }, 'could not record why the session ended'));
    await terminateAicall(domain, row.customer_id, row.id);
    // What the pipeline would have done on its way out: take its media leg off the call ...
    if (row.reference_type === 'call' && row.reference_id) {
      await callFlowManager(this.options, row.customer_id, 'DELETE', `/v1/calls/${row.reference_id}/external_media`).catch((error: unknown) => {
        if (!(isAppError(error) && error.httpStatus === 404)) this.logger.warn({ err: error, aicallId: row.id }, 'could not remove the external media leg');
      });
    }
    // ... and, as for any end other than stop_flow, the flow goes on after ai_talk.
    if (row.activeflow_id) {
      const pending = this.options.pendingEnds?.get(row.id);
      this.options.pendingEnds?.delete(row.id);
      await callFlowManager(this.options, row.customer_id, 'POST', `/v1/activeflows/${row.activeflow_id}/service_stop`, {
        service_id: row.id,
        actions: pending?.actions ?? [],
      }).catch(
        (error: unknown) => {
          // The flow may have ended already (the caller hung up) or moved on.
          if (!(isAppError(error) && (error.httpStatus === 409 || error.httpStatus === 404))) {
            this.logger.warn({ err: error, aicallId: row.id }, 'could not give the flow back');
          }
        },
      );
    }
  }
}
