import { isAppError, RepeatingCheck, rpcCall, type Bus, type Logger } from '@avp/shared';
import type { MediaTransportStats } from '../media/media-transport.ts';

/** What the liveness check needs of one running pipeline. */
export interface LivenessTarget {
  id: string;
  customerId: string;
  /** null for a web session: no call to ask about; it ends when the browser's socket closes. */
  callId: string | null;
  /** The AIcall's pipeline epoch the pipeline runs under; another in ai-manager's answer means it was replaced. */
  epoch: number;
  /** Inbound frames that carried audio Asterisk sent (see realInboundFrames). */
  mediaFrames(): number;
  /** Ends the pipeline with a reason; with an error, ai-manager tells the customer why. */
  stop(reason: string, error?: { category: string; message: string }): Promise<void>;
}

export interface PipelineLivenessOptions {
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The running pipelines, asked at every check. */
  pipelines: () => LivenessTarget[];
  /** Time between checks (default 5000 ms); 0 turns the checks off. */
  intervalMs?: number;
  /** No audio from the call for this long makes the pipeline ask whether the call is still up (default 60 000 ms; 0 = never). */
  mediaTimeoutMs?: number;
  /** Longest wait for ai-manager's or flow-manager's answer (default 3000 ms). */
  requestTimeoutMs?: number;
}

/**
 * Frames of audio that really arrived. The transports fill a silent caller's gaps with
 * silence (a real Asterisk sends nothing at all then) and conceal lost packets, so frames
 * keep flowing to the conversation either way; only what is left after both is evidence
 * that the leg still carries the call.
 */
export function realInboundFrames(stats: MediaTransportStats & { silenceFilledFrames?: number }): number {
  return stats.framesReceived - (stats.silenceFilledFrames ?? 0) - stats.concealedFrames;
}

type AicallStatus = 'initiating' | 'progressing' | 'terminating' | 'terminated' | null;

/** ai-manager's answer about one AIcall (`pipeline_epoch` is absent from an older ai-manager). */
interface AicallState {
  id: string;
  status: AicallStatus;
  pipeline_epoch?: number | null;
}

/**
 * Why a pipeline must stop given ai-manager's answer about its AIcall, or undefined. `terminating`
 * counts the checks in a row that found it so (an ai-manager that died halfway through ending it
 * gets one more check).
 */
export function orphanReason(state: AicallState, epoch: number, terminatingChecks: number): string | undefined {
  if (state.status === null) return 'the AIcall does not exist';
  if (state.status === 'terminated') return 'the AIcall has ended';
  // Crash resumption took the AIcall over while this pipeline was stalled: it stops without a word.
  if (typeof state.pipeline_epoch === 'number' && state.pipeline_epoch !== epoch) {
    return `superseded: another pipeline took the AIcall over (epoch ${state.pipeline_epoch}, this one ${epoch})`;
  }
  if (state.status === 'terminating' && terminatingChecks >= 2) return 'the AIcall has been ending for two checks';
  return undefined;
}

/**
 * Keeps a pipeline from outliving its session. ai-manager may end a session without reaching
 * the pipeline (it declared the pipeline lost while the broker was restarting, or its stop
 * request found no queue), and nothing else would ever stop it: it would go on talking to
 * the caller and billing. So every few seconds each process asks ai-manager, in one request,
 * for the status of all its pipelines' AIcalls (`POST /v1/aicalls/states`) and stops a
 * pipeline whose AIcall is terminated, does not exist, or stays `terminating` two checks in a
 * row (an ai-manager that died halfway through ending it). No answer is no evidence: a
 * timeout, an unreachable bus or an older ai-manager leave every pipeline running.
 *
 * A call whose leg went quiet is the other way to outlive a session (the hang-up event lost,
 * the leg left behind). Silence alone proves nothing, since a silent caller makes Asterisk
 * send nothing at all, so after `mediaTimeoutMs` without real audio the pipeline asks
 * flow-manager about its call: it ends itself (with the reason, which ai-manager records)
 * only when flow-manager says the call has hung up or does not exist; a call that is up
 * earns another full period, and no answer leaves it running.
 */
export class PipelineLiveness {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly loop: RepeatingCheck;
  private readonly mediaTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  /** Checks in a row that found the AIcall terminating, by pipeline. */
  private readonly terminating = new Map<string, number>();
  /** Real inbound frames at the last change, and when that was (or when the call was last confirmed up). */
  private readonly media = new Map<string, { frames: number; since: number }>();

  constructor(private readonly options: PipelineLivenessOptions) {
    this.logger = options.logger.child({ component: 'pipeline-liveness' });
    this.intervalMs = options.intervalMs ?? 5000;
    this.loop = new RepeatingCheck(this.intervalMs, () => this.check());
    this.mediaTimeoutMs = options.mediaTimeoutMs ?? 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 3000;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One round over every running pipeline. Never throws. */
  async check(): Promise<void> {
    try {
      const targets = this.options.pipelines();
      const ids = new Set(targets.map((target) => target.id));
      for (const id of this.terminating.keys()) if (!ids.has(id)) this.terminating.delete(id);
      for (const id of this.media.keys()) if (!ids.has(id)) this.media.delete(id);
      if (targets.length === 0) return;
      const ended = await this.checkAicalls(targets);
      const rest = targets.filter((target) => !ended.has(target.id));
      if (this.mediaTimeoutMs > 0) await Promise.all(rest.map((target) => this.checkMedia(target)));
    } catch (error) {
      this.logger.warn({ err: error }, 'pipeline liveness check failed; trying again at the next one');
    }
  }

  /** Stops the pipelines whose AIcall has ended; answers their ids. */
  private async checkAicalls(targets: LivenessTarget[]): Promise<Set<string>> {
    const ended = new Set<string>();
    let states: AicallState[];
    try {
      const reply = await rpcCall<{ result: AicallState[] }>(
        this.options.bus,
        'ai-manager',
        'POST',
        '/v1/aicalls/states',
        { aicalls: targets.map((target) => ({ id: target.id, customer_id: target.customerId })) },
        { publisher: this.options.serviceName, timeoutMs: this.requestTimeoutMs },
      );
      states = reply.result;
    } catch (error) {
      this.logger.info({ reason: isAppError(error) ? error.reason : String(error) }, 'could not ask ai-manager about the AIcalls; every pipeline keeps running');
      return ended;
    }
    const byId = new Map(states.map((state) => [state.id.toLowerCase(), state]));
    for (const target of targets) {
      const state = byId.get(target.id.toLowerCase());
      if (!state) continue; // Not answered about: no evidence.
      const status = state.status ?? null;
      if (status === 'terminating') this.terminating.set(target.id, (this.terminating.get(target.id) ?? 0) + 1);
      else this.terminating.delete(target.id);
      const why = orphanReason({ ...state, status }, target.epoch, this.terminating.get(target.id) ?? 0);
      if (!why) continue;
      ended.add(target.id);
      this.logger.warn({ aicallId: target.id, status }, `stopping an orphaned pipeline: ${why}`);
      await target.stop(why).catch((error: unknown) => this.logger.warn({ err: error, aicallId: target.id }, 'could not stop the pipeline'));
    }
    return ended;
  }

  private async checkMedia(target: LivenessTarget): Promise<void> {
    const now = Date.now();
    const frames = target.mediaFrames();
    const last = this.media.get(target.id);
    if (!last || last.frames !== frames) {
      this.media.set(target.id, { frames, since: now });
      return;
    }
    if (now - last.since < this.mediaTimeoutMs) return;
    const up = await this.callIsUp(target);
    if (up === undefined) return; // No answer: ask again at the next check.
    if (up) {
      // A silent caller on a live call: wait another full period before asking again.
      last.since = now;
      return;
    }
    const seconds = Math.round((now - last.since) / 1000);
    const message = `no audio from the call for ${seconds} s and the call has ended`;
    this.logger.warn({ aicallId: target.id, callId: target.callId }, `ending a pipeline: ${message}`);
    this.media.delete(target.id);
    await target
      .stop(message, { category: 'media', message })
      .catch((error: unknown) => this.logger.warn({ err: error, aicallId: target.id }, 'could not stop the pipeline'));
  }

  /** Whether flow-manager says the call is up; undefined when it did not answer. */
  private async callIsUp(target: LivenessTarget): Promise<boolean | undefined> {
    if (target.callId === null) return true;
    try {
      const call = await rpcCall<{ status?: string }>(
        this.options.bus,
        'flow-manager',
        'GET',
        `/v1/calls/${target.callId}?customer_id=${encodeURIComponent(target.customerId)}`,
        undefined,
        { publisher: this.options.serviceName, timeoutMs: this.requestTimeoutMs },
      );
      return call.status !== 'hangup';
    } catch (error) {
      if (isAppError(error) && error.reason === 'RESOURCE_NOT_FOUND') return false;
      this.logger.info({ aicallId: target.id, reason: isAppError(error) ? error.reason : String(error) }, 'could not ask flow-manager about the call');
      return undefined;
    }
  }
}
