import { isAppError, jsonb, RepeatingCheck, rpcCall, updateTimestamps, type Bus, type Logger } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { TranscriberRef, TranscribesTable } from '../db/tables.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import type { TranscribeService } from './transcribe-service.ts';

export interface TranscriberWatchdogOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  transcribes: TranscribeService;
  /** Time between checks (default 2000 ms); 0 turns the watchdog off. */
  intervalMs?: number;
  /** Longest wait for a pipeline-manager instance's answer (default: the interval, at most 1000 ms). */
  probeTimeoutMs?: number;
  /** How long a transcriber must keep failing checks before it counts as lost (default 10 000 ms). */
  lostAfterMs?: number;
  /** Failed checks in a row needed as well (default 2). */
  minFailedChecks?: number;
}

type TranscribeRow = Selectable<TranscribesTable>;

/** What one pipeline-manager instance answered: the transcribers it runs, that it is gone, or nothing telling. */
type Probe = { kind: 'alive'; transcribers: Set<string> } | { kind: 'gone' } | { kind: 'unknown' };

interface Streak {
  since: number;
  count: number;
}

/**
 * Notices transcribers whose pipeline-manager process died and starts them again on another
 * instance, so a transcription does not stay `progressing` for ever (nor a summary waiting for
 * it). Every few seconds it asks each instance that runs a transcriber of a progressing
 * transcription which transcribers it has (`GET /v1/transcribers` on the instance's own queue).
 * A transcriber is lost on the same evidence as a voice pipeline: failed checks in a row
 * spanning `lostAfterMs`, and at least `minFailedChecks` of them (a broker restart that deletes
 * the instance queues for a moment is not enough); an answer that tells nothing (our own bus
 * down, an odd error) neither adds to nor breaks a streak.
 *
 * A lost transcriber of a live call is started again on the call (what was said while none
 * listened is not transcribed); of a recording, from the recording's start, reporting only the
 * utterances after the last one stored for that side (its STT seconds are billed again). If
 * the call has ended meanwhile the transcription ends (`done`); a start that fails otherwise is
 * tried again after another `lostAfterMs`.
 */
export class TranscriberWatchdog {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly loop: RepeatingCheck;
  private readonly probeTimeoutMs: number;
  private readonly lostAfterMs: number;
  private readonly minFailedChecks: number;
  private readonly streaks = new Map<string, Streak>();

  constructor(private readonly options: TranscriberWatchdogOptions) {
    this.logger = options.logger.child({ component: 'transcriber-watchdog' });
    this.intervalMs = options.intervalMs ?? 2000;
    this.loop = new RepeatingCheck(this.intervalMs, () => this.check());
    this.probeTimeoutMs = options.probeTimeoutMs ?? Math.min(this.intervalMs || 1000, 1000);
    this.lostAfterMs = options.lostAfterMs ?? 10_000;
    this.minFailedChecks = options.minFailedChecks ?? 2;
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One round over the transcribers of progressing transcriptions. Never throws. */
  async check(): Promise<void> {
    try {
      const rows = await this.options.domain.db.selectFrom('transcribes').selectAll().where('status', '=', 'progressing').where('tm_delete', 'is', null).execute();
      const byInstance = new Map<string, { row: TranscribeRow; ref: TranscriberRef }[]>();
      for (const row of rows) {
        for (const ref of row.transcribers) {
          if (!ref.finished) byInstance.set(ref.instance_id, [...(byInstance.get(ref.instance_id) ?? []), { row, ref }]);
        }
      }
      const watched = new Set([...byInstance.values()].flat().map(({ ref }) => ref.transcriber_id));
      for (const id of this.streaks.keys()) if (!watched.has(id)) this.streaks.delete(id);
      await Promise.all([...byInstance].map(([instanceId, entries]) => this.checkInstance(instanceId, entries)));
    } catch (error) {
      this.logger.warn({ err: error }, 'transcriber check failed; trying again at the next one');
    }
  }

  private async checkInstance(instanceId: string, entries: { row: TranscribeRow; ref: TranscriberRef }[]): Promise<void> {
    const probe = await this.probe(instanceId);
    if (probe.kind === 'unknown') return;
    for (const { row, ref } of entries) {
      if (probe.kind === 'alive' && probe.transcribers.has(ref.transcriber_id)) {
        this.streaks.delete(ref.transcriber_id);
        continue;
      }
      const now = Date.now();
      const streak = this.streaks.get(ref.transcriber_id) ?? { since: now, count: 0 };
      streak.count += 1;
      this.streaks.set(ref.transcriber_id, streak);
      if (streak.count < this.minFailedChecks || now - streak.since < this.lostAfterMs) continue;
      this.streaks.delete(ref.transcriber_id);
      const why = probe.kind === 'gone' ? `pipeline-manager instance ${instanceId} is gone` : `pipeline-manager instance ${instanceId} no longer runs it`;
      await this.replace(row, ref, why).catch((error: unknown) =>
        this.logger.warn({ err: error, transcribeId: row.id, transcriberId: ref.transcriber_id }, 'could not start a lost transcriber again; trying again later'),
      );
    }
  }

  private async probe(instanceId: string): Promise<Probe> {
    if (!this.options.bus.isHealthy()) return { kind: 'unknown' };
    try {
      const reply = await rpcCall<{ result: { transcriber_id: string }[] }>(this.options.bus, 'pipeline-manager', 'GET', '/v1/transcribers', undefined, {
        instanceId,
        timeoutMs: this.probeTimeoutMs,
        publisher: this.options.serviceName,
      });
      return { kind: 'alive', transcribers: new Set(reply.result.map((entry) => entry.transcriber_id)) };
    } catch (error) {
      // Nothing serves the instance's queue (404 ROUTE_NOT_FOUND), or it does not answer in time.
      if (isAppError(error) && (error.reason === 'ROUTE_NOT_FOUND' || error.reason === 'RPC_TIMEOUT')) return { kind: 'gone' };
      this.logger.warn({ err: error, instanceId }, 'transcriber check inconclusive');
      return { kind: 'unknown' };
    }
  }

  /** Starts a lost transcriber again elsewhere and records the new one in its place. */
  private async replace(row: TranscribeRow, lost: TranscriberRef, why: string): Promise<void> {
    const { domain, transcribes } = this.options;
    const direction = lost.direction === 'out' ? 'out' : 'in';
    const recording = row.reference_type === 'recording';
    let resumeAfterMs: number | undefined;
    if (recording) {
      const last = await domain.db
        .selectFrom('transcripts')
        .select((eb) => eb.fn.max('offset_ms').as('offset'))
        .where('transcribe_id', '=', row.id)
        .where('direction', '=', direction)
        .executeTakeFirst();
      resumeAfterMs = last?.offset ?? undefined;
    }
    this.logger.warn({ transcribeId: row.id, transcriberId: lost.transcriber_id, instanceId: lost.instance_id, direction, reason: why }, 'transcriber lost; starting it again on another pipeline-manager');
    let started: TranscriberRef;
    try {
      started = await transcribes.startTranscriber({
        transcribeId: row.id,
        customerId: row.customer_id,
        source: recording ? { recording_id: row.reference_id } : { call_id: row.reference_id },
        direction,
        language: row.language,
        phrases: lost.phrases,
        originMs: lost.origin_ms ?? Date.parse(row.tm_create),
        resumeAfterMs,
      });
    } catch (error) {
      if (!recording && (await this.callEnded(row))) {
        this.logger.info({ transcribeId: row.id }, 'the call of a lost transcriber has ended; the transcription ends');
        await transcribes.finish(row.customer_id, row.id);
        return;
      }
      throw error;
    }
    const kept = await domain.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('transcribes').selectAll().where('id', '=', row.id).forUpdate().executeTakeFirst();
      if (!current || current.status !== 'progressing' || current.tm_delete) return false;
      const transcribers = current.transcribers.map((entry) => (entry.transcriber_id === lost.transcriber_id ? started : entry));
      await trx.updateTable('transcribes').set({ transcribers: jsonb(transcribers), ...updateTimestamps() }).where('id', '=', row.id).execute();
      return true;
    });
    if (!kept) {
      // Stopped or deleted meanwhile: the new transcriber is not wanted.
      await rpcCall(this.options.bus, 'pipeline-manager', 'POST', `/v1/transcribers/${started.transcriber_id}/stop`, { customer_id: row.customer_id, reason: 'stopped' }, {
        instanceId: started.instance_id,
        publisher: this.options.serviceName,
        timeoutMs: 10_000,
      }).catch(() => undefined);
      return;
    }
    this.logger.info({ transcribeId: row.id, transcriberId: started.transcriber_id, instanceId: started.instance_id, direction, resumeAfterMs }, 'lost transcriber started again');
  }

  private async callEnded(row: TranscribeRow): Promise<boolean> {
    try {
      const call = await callFlowManager<{ status: string }>(this.options, row.customer_id, 'GET', `/v1/calls/${row.reference_id}`);
      return call.status === 'hangup';
    } catch (error) {
      return isAppError(error) && error.httpStatus === 404;
    }
  }
}
