import { isAppError, RepeatingCheck, rpcCall, type Bus, type Logger } from '@avp/shared';
import { listLivePipelines, releaseLostPipeline } from '../domain/aicalls/aicall-repository.ts';
import { terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import type { DomainContext } from '../domain/context.ts';
import type { FlowGiveBacks } from './flow-give-back.ts';
import { callFlowManager, callPipeline } from './flow-manager-rpc.ts';
import type { SessionResumer } from './session-resume.ts';

export interface PipelineWatchdogOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** Time between checks (default 2000 ms); 0 turns the watchdog off. */
  intervalMs?: number;
  /** Longest wait for a pipeline-manager instance's answer (default: the interval, at most 1000 ms). */
  probeTimeoutMs?: number;
  /**
   * How long a pipeline must keep failing checks before it counts as lost (default 10 000 ms):
   * one failed check is never enough, since a broker restart deletes every auto-delete
   * instance queue until its process has declared it again.
   */
  lostAfterMs?: number;
  /** Failed checks in a row needed as well (default 2), so a long pause between two checks is not a streak. */
  minFailedChecks?: number;
  /** Longest wait for a lost pipeline's instance to take the stop (default 2000 ms). */
  stopTimeoutMs?: number;
  /** Actions a tool left to run when the flow is given back (connect_call), by AIcall id. */
  pendingEnds?: Map<string, { actions?: unknown[] }>;
  /** Hands the flow back, retrying until flow-manager takes it (the sessions' own; default: one attempt). */
  giveBacks?: FlowGiveBacks;
  /** Crash resumption: a lost session is first offered to another live pipeline-manager (none: it ends). */
  resumer?: SessionResumer;
}

type LivePipeline = Awaited<ReturnType<typeof listLivePipelines>>[number];

/** What one pipeline-manager instance answered. */
type Probe =
  | { kind: 'alive'; pipelines: Set<string> | undefined }
  | { kind: 'gone'; why: string }
  | { kind: 'timeout' }
  | { kind: 'unknown' };

/** Failed checks in a row of one instance or one pipeline: when the first failed, and how many. */
interface Streak {
  since: number;
  count: number;
}

/**
 * Notices voice pipelines whose pipeline-manager process died and ends their sessions the
 * way a pipeline ending does, so the caller is not left in silence. Every few seconds it
 * asks each pipeline-manager instance that runs a live AIcall's pipeline which pipelines it
 * has (`GET /v1/pipelines` on the instance's own queue). A check fails when nothing serves
 * the instance's queue (404 ROUTE_NOT_FOUND), when it is left unanswered, or when the
 * instance answers without the pipeline.
 *
 * A pipeline is lost only on evidence: failed checks in a row spanning `lostAfterMs` (and at
 * least `minFailedChecks` of them). One failure proves nothing: after a RabbitMQ restart every
 * instance queue is gone until its process has reconnected and declared it again, and a
 * pipeline that has just ended normally is missing from the list while its
 * `pipeline_terminated` is on its way. A check that says nothing about the instance (our own
 * bus is down, an odd answer) breaks the streak, so evidence after a reconnect starts afresh.
 *
 * Ending a lost session: a notification message, the AIcall terminated, the pipeline told to
 * stop (if it still runs somewhere it must not keep talking and billing), the call's external
 * media removed, and the flow given back (`service_stop`: it goes on after `ai_talk`).
 * Several ai-manager instances may all notice; clearing the AIcall's pipeline instance (only
 * while it is live and still names that instance) lets exactly one of them end it.
 */
export class PipelineWatchdog {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly loop: RepeatingCheck;
  private readonly probeTimeoutMs: number;
  private readonly lostAfterMs: number;
  private readonly minFailedChecks: number;
  /** Failed checks in a row, by pipeline-manager instance. */
  private readonly instanceFailures = new Map<string, Streak>();
  /** Checks in a row in which a live instance did not know the pipeline, by AIcall. */
  private readonly misses = new Map<string, Streak>();

  constructor(private readonly options: PipelineWatchdogOptions) {
    this.logger = options.logger.child({ component: 'pipeline-watchdog' });
    this.intervalMs = options.intervalMs ?? 2000;
    this.loop = new RepeatingCheck(this.intervalMs, () => this.check());
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.min(1000, Math.max(1, this.intervalMs));
    this.lostAfterMs = options.lostAfterMs ?? 10_000;
    this.minFailedChecks = Math.max(1, options.minFailedChecks ?? 2);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
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
      // Streaks of sessions and instances that are no longer live are forgotten.
      for (const instanceId of this.instanceFailures.keys()) if (!byInstance.has(instanceId)) this.instanceFailures.delete(instanceId);
      const liveIds = new Set(live.map((aicall) => aicall.id));
      for (const aicallId of this.misses.keys()) if (!liveIds.has(aicallId)) this.misses.delete(aicallId);
      await Promise.all([...byInstance].map(([instanceId, aicalls]) => this.checkInstance(instanceId, aicalls)));
    } catch (error) {
      this.logger.warn({ err: error }, 'pipeline check failed; trying again at the next one');
    }
  }

  /** Adds a failed check to a streak; true once the streak is evidence enough. */
  private failed(streaks: Map<string, Streak>, key: string): { lost: boolean; streak: Streak } {
    const now = Date.now();
    const streak = streaks.get(key) ?? { since: now, count: 0 };
    streak.count += 1;
    streaks.set(key, streak);
    return { lost: streak.count >= this.minFailedChecks && now - streak.since >= this.lostAfterMs, streak };
  }

  private async checkInstance(instanceId: string, aicalls: LivePipeline[]): Promise<void> {
    const probe = await this.probe(instanceId);
    const lost: LivePipeline[] = [];
    let why = '';
    if (probe.kind === 'gone' || probe.kind === 'timeout') {
      const { lost: isLost, streak } = this.failed(this.instanceFailures, instanceId);
      const seconds = ((Date.now() - streak.since) / 1000).toFixed(1);
      this.logger.warn({ instanceId, failedChecks: streak.count, probe: probe.kind }, 'a pipeline-manager instance failed the pipeline check');
      if (isLost) {
        lost.push(...aicalls);
        why =
          probe.kind === 'gone'
            ? `${probe.why}: nothing served its queue for ${streak.count} checks over ${seconds} s`
            : `pipeline-manager instance ${instanceId} did not answer ${streak.count} checks in a row over ${seconds} s`;
      }
    } else if (probe.kind === 'alive') {
      this.instanceFailures.delete(instanceId);
      for (const aicall of aicalls) {
        // An older pipeline-manager cannot list its pipelines: being alive is all we know.
        if (!probe.pipelines || probe.pipelines.has(aicall.id)) {
          this.misses.delete(aicall.id);
          continue;
        }
        if (this.failed(this.misses, aicall.id).lost) {
          lost.push(aicall);
          why = `pipeline-manager instance ${instanceId} no longer runs the pipeline`;
        }
      }
    } else {
      // Nothing learnt about the instance (our own bus is down, say): a streak across it is no streak.
      this.instanceFailures.delete(instanceId);
      for (const aicall of aicalls) this.misses.delete(aicall.id);
    }
    for (const aicall of lost) {
      await this.handleLost(aicall, instanceId, why).catch((error: unknown) =>
        this.logger.error({ err: error, aicallId: aicall.id, instanceId }, 'could not end a session whose pipeline was lost'),
      );
    }
  }

  private async probe(instanceId: string): Promise<Probe> {
    // A bus that cannot carry messages answers nothing about anyone.
    if (!this.options.bus.isHealthy()) return { kind: 'unknown' };
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

  /**
   * A session whose pipeline was lost on `instanceId`: resumed on another live pipeline-manager
   * when there is one (session-resume.ts), otherwise ended as before. Also the fast path's
   * (pipeline-takeover.ts) way to act.
   */
  async handleLost(aicall: LivePipeline, instanceId: string, why: string): Promise<void> {
    let lostOn = instanceId;
    if (this.options.resumer) {
      const resumed = await this.options.resumer.resume(aicall.id, instanceId, why);
      this.misses.delete(aicall.id);
      if (resumed.outcome !== 'failed') return;
      lostOn = resumed.instanceId;
    }
    await this.endLostSession(aicall, lostOn, why);
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
    // Evidence is not certainty: a pipeline that still runs somewhere must not go on talking
    // to the caller and billing. Told after the AIcall ended, so its pipeline_terminated finds
    // the session over and gives the flow back no second time. Should its queue be out of
    // reach, the pipeline stops itself once it sees its AIcall terminated (pipeline-manager's
    // pipeline-liveness.ts).
    await callPipeline(this.options, row, instanceId, 'stop', { reason: `the session ended: ${why}`.slice(0, 500) }, this.options.stopTimeoutMs ?? 2000).catch(
      (error: unknown) => this.logger.info({ aicallId: row.id, instanceId, reason: isAppError(error) ? error.reason : String(error) }, 'the lost pipeline did not take the stop'),
    );
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
      const body = { service_id: row.id, actions: pending?.actions ?? [] };
      if (this.options.giveBacks) {
        await this.options.giveBacks.handBack({ customerId: row.customer_id, activeflowId: row.activeflow_id, aicallId: row.id, action: 'service_stop', body });
        return;
      }
      await callFlowManager(this.options, row.customer_id, 'POST', `/v1/activeflows/${row.activeflow_id}/service_stop`, body).catch((error: unknown) => {
        // The flow may have ended already (the caller hung up) or moved on.
        if (!(isAppError(error) && (error.httpStatus === 409 || error.httpStatus === 404))) {
          this.logger.warn({ err: error, aicallId: row.id }, 'could not give the flow back');
        }
      });
    }
  }
}
