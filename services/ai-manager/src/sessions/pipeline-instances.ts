import type { Bus, EventEnvelope, Logger, Subscription } from '@avp/shared';
import { z } from 'zod';

/** `pipeline_manager_heartbeat`: what every pipeline-manager process publishes a few times a second. */
export const heartbeatSchema = z.object({
  instance_id: z.string().min(1).max(200),
  pipelines: z
    .array(
      z.object({
        aicall_id: z.string(),
        pipeline_epoch: z.number().int().min(0).default(0),
        /** Whether the bot was speaking (a turn in progress): its death loses that answer. */
        speaking: z.boolean().default(false),
      }),
    )
    .max(10_000)
    .default([]),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export interface PipelineInstancesSettings {
  /** Heartbeats of an instance missing for this long (trusted, see `trustedSilenceMs`) make it silent (default 1000 ms). */
  silentAfterMs: number;
  /**
   * After this process's bus (re)connects, no instance's silence counts for this long (default
   * 6000 ms): after a broker restart every process reconnects on its own backoff (up to 5 s
   * apart), and an instance still reconnecting is silent without being dead.
   */
  reconnectGraceMs: number;
}

export const defaultPipelineInstancesSettings: PipelineInstancesSettings = { silentAfterMs: 1000, reconnectGraceMs: 6000 };

/**
 * How long an instance's silence is evidence, or undefined when nothing can be trusted (this
 * process's own bus is down). Silence is counted from the latest of: the instance's last
 * heartbeat, and the moment this process could hear heartbeats reliably (`listeningSince`: its
 * bus healthy again or its subscription new, plus the reconnect grace). So after a broker
 * restart, or a restart of ai-manager, no instance is silent before every process has had time
 * to reconnect.
 */
export function trustedSilenceMs(lastHeardAt: number | undefined, listeningSince: number | undefined, graceMs: number, now: number): number | undefined {
  if (listeningSince === undefined) return undefined;
  const from = Math.max(lastHeardAt ?? Number.NEGATIVE_INFINITY, listeningSince + graceMs);
  return Math.max(0, now - from);
}

interface InstanceState {
  lastHeardAt: number;
  pipelines: Map<string, { epoch: number; speaking: boolean }>;
}

/** An instance whose heartbeats stopped, with the pipelines it last said it ran. */
export interface SilentInstance {
  instanceId: string;
  silentMs: number;
  aicallIds: string[];
}

/**
 * The pipeline-manager processes this ai-manager hears from: each publishes
 * `pipeline_manager_heartbeat` (its pipelines with their epochs) every
 * `HEARTBEAT_INTERVAL_MS`, and this keeps when each was last heard. It answers two questions of
 * crash resumption: which instances are silent on evidence (`silent`), and which are alive to
 * take a session over (`alive`).
 *
 * Silence alone is trusted only while the heartbeat path itself works: this process's bus is
 * connected (and has been for the reconnect grace), and some other instance was heard within
 * the silence period (`alive` is not empty), so a broker that stopped delivering anything is
 * never read as every instance dying. The caller confirms with a probe of the instance's own
 * queue before acting.
 */
export class PipelineInstances {
  private readonly instances = new Map<string, InstanceState>();
  private readonly settings: PipelineInstancesSettings;
  private listeningSince: number | undefined;
  private subscription: Subscription | undefined;

  constructor(
    private readonly options: {
      bus: Bus;
      logger: Logger;
      serviceName: string;
      instanceId: string;
      settings?: Partial<PipelineInstancesSettings>;
      now?: () => number;
    },
  ) {
    this.settings = { ...defaultPipelineInstancesSettings, ...options.settings };
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async start(): Promise<void> {
    // Each ai-manager process hears every heartbeat; none are kept while it is away.
    this.subscription = await this.options.bus.subscribe('pipeline-manager', ['pipeline_manager_heartbeat'], async (event) => this.onEvent(event), {
      queue: `${this.options.serviceName}.pipeline-heartbeats.${this.options.instanceId}`,
      temporary: true,
      maxAttempts: 1,
    });
    this.observeBus(this.options.bus.isHealthy());
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
  }

  private async onEvent(event: EventEnvelope): Promise<void> {
    const parsed = heartbeatSchema.safeParse(event.data);
    if (parsed.success) this.heard(parsed.data);
  }

  /** Records one heartbeat. */
  heard(heartbeat: Heartbeat): void {
    this.instances.set(heartbeat.instance_id, {
      lastHeardAt: this.now(),
      pipelines: new Map(heartbeat.pipelines.map((pipeline) => [pipeline.aicall_id.toLowerCase(), { epoch: pipeline.pipeline_epoch, speaking: pipeline.speaking }])),
    });
  }

  /** Called every tick with whether this process's bus carries messages; a reconnect restarts the grace. */
  observeBus(healthy: boolean): void {
    if (!healthy) this.listeningSince = undefined;
    else this.listeningSince ??= this.now();
  }

  /** Instances heard within the silence period, least busy first, except `excluding`. */
  alive(excluding?: string): string[] {
    const now = this.now();
    return [...this.instances]
      .filter(([id, state]) => id !== excluding && now - state.lastHeardAt < this.settings.silentAfterMs)
      .sort((a, b) => a[1].pipelines.size - b[1].pipelines.size)
      .map(([id]) => id);
  }

  /**
   * Instances whose heartbeats have stopped on evidence (see the class comment): silent for
   * `silentAfterMs` of trusted time while another instance is heard. Also those that ran no
   * pipeline when last heard: a session may have started on one since its last heartbeat (the
   * caller looks the sessions up and then forgets the instance).
   */
  silent(): SilentInstance[] {
    const now = this.now();
    const result: SilentInstance[] = [];
    for (const [instanceId, state] of this.instances) {
      const silentMs = trustedSilenceMs(state.lastHeardAt, this.listeningSince, this.settings.reconnectGraceMs, now);
      if (silentMs === undefined || silentMs < this.settings.silentAfterMs) continue;
      if (this.alive(instanceId).length === 0) continue;
      result.push({ instanceId, silentMs, aicallIds: [...state.pipelines.keys()] });
    }
    return result;
  }

  /** What the instance last said about a pipeline (its epoch, whether it was speaking). */
  lastKnown(instanceId: string, aicallId: string): { epoch: number; speaking: boolean } | undefined {
    return this.instances.get(instanceId)?.pipelines.get(aicallId.toLowerCase());
  }

  /** Forgets an instance found dead (its sessions were handed on); a heartbeat brings it back. */
  forget(instanceId: string): void {
    this.instances.delete(instanceId);
  }
}
