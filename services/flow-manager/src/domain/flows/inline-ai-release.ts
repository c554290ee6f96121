import { randomUUID } from 'node:crypto';
import { jsonb, RepeatingCheck, rpcCall, type Action, type ActiveflowStack } from '@avp/shared';
import { sql } from 'kysely';
import { flowManagerServiceName, type DomainContext } from '../context.ts';
import { mainStackId } from '../activeflows/stack-machine.ts';
import { outgoingFlowCarries } from '../calls/outgoing-flow-store.ts';
import { isInlineAiAction } from './inline-ais.ts';

/** The hidden AIs that actions of an activeflow or of outgoing calls carry (each inline action's `inline_ai_id`). */
export function inlineAiIdsOf(actions: readonly Action[]): string[] {
  const ids = actions.filter(isInlineAiAction).map((action) => action.option.inline_ai_id);
  return [...new Set(ids.filter((id): id is string => typeof id === 'string').map((id) => id.toLowerCase()))];
}

/** Waits before each new try of a release ai-manager did not take; after the last it is given up (logged). */
export const defaultReleaseRetryDelaysMs: readonly number[] = [5_000, 30_000, 120_000, 600_000, 3_600_000, 21_600_000];

/** How long a claimed retry is held by the instance trying it before another may take it. */
const claimMs = 60_000;

export interface InlineAiReleaserOptions {
  /** See {@link defaultReleaseRetryDelaysMs}. */
  retryDelaysMs?: readonly number[];
  /** How often the stored retries are looked at for those due (default 5 s). */
  pollIntervalMs?: number;
}

/**
 * Lets ai-manager delete the inline AIs of activeflows started with actions and of outgoing
 * calls once nothing can start a session with them any more (`POST /v1/inline_ais/release`;
 * ai-manager waits for the sessions still running them). A flow's inline AIs are not this
 * class's: they live as long as their action in the flow.
 *
 * The AIs of one request of outgoing calls are shared by its calls: they are released when the
 * last of them is done, i.e. no stored outgoing flow (a call still ringing, or being answered)
 * and no running activeflow carries them. Both are asked of the database, so it holds across
 * instances and restarts.
 *
 * A release ai-manager does not take is stored (`inline_ai_releases`) and tried again after each
 * of `retryDelaysMs` by whichever instance runs the loop (`start`) once it is due, also after a
 * restart; everything is checked afresh each time. After the last wait it is given up, logged,
 * and the AIs stay hidden.
 */
export class InlineAiReleaser {
  private readonly retryDelaysMs: readonly number[];
  private readonly loop: RepeatingCheck;
  private stopped = false;

  constructor(
    private readonly context: DomainContext,
    options: InlineAiReleaserOptions = {},
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? defaultReleaseRetryDelaysMs;
    this.loop = new RepeatingCheck(options.pollIntervalMs ?? 5_000, () => this.retryDue());
  }

  /** Starts trying the stored releases again as they fall due. */
  start(): void {
    this.stopped = false;
    this.loop.start();
  }

  /** Stops the loop (shutdown), waiting for a round in flight; stored releases wait for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.stop();
  }

  /** An activeflow ended: the inline AIs it started with are released if nothing else needs them. */
  async activeflowEnded(activeflow: { id: string; customer_id: string; flow_id: string | null; stacks: readonly ActiveflowStack[] }): Promise<void> {
    // A flow's activeflow runs the flow's inline AIs (and pushed flows run their own): not released.
    if (activeflow.flow_id) return;
    const started = activeflow.stacks.find((stack) => stack.id === mainStackId)?.actions ?? [];
    await this.release(activeflow.customer_id, inlineAiIdsOf(started));
  }

  /**
   * Releases those of `aiIds` that no stored outgoing flow and no running activeflow of the
   * customer's carries. Called after the caller's own change was committed (an activeflow's end,
   * an outgoing flow removed), so of two ends at once at least one sees the other. Never throws:
   * a failure is logged and stored to be tried again (see the class).
   */
  async release(customerId: string, aiIds: readonly string[]): Promise<void> {
    const candidates = [...new Set(aiIds)];
    if (candidates.length === 0) return;
    const error = await this.tryRelease(customerId, candidates);
    if (error === undefined) return;
    await this.storeRetry(customerId, candidates, 1, error).catch((storeError: unknown) =>
      this.context.logger.error({ err: storeError, customerId, aiIds: candidates }, 'could not store the release of inline AIs to try again; they stay hidden'),
    );
  }

  /** One try; answers the failure, or undefined when ai-manager took it (or nothing was left to release). */
  private async tryRelease(customerId: string, candidates: readonly string[]): Promise<unknown> {
    try {
      const stillCarried = await this.stillCarried(customerId, candidates);
      const unused = candidates.filter((id) => !stillCarried.has(id));
      if (unused.length === 0) return undefined;
      const reply = await rpcCall<{ released: number; deleted: number }>(
        this.context.bus,
        'ai-manager',
        'POST',
        '/v1/inline_ais/release',
        { customer_id: customerId, ai_ids: unused },
        { publisher: flowManagerServiceName, timeoutMs: 5000 },
      );
      this.context.logger.info({ customerId, aiIds: unused, ...reply }, 'inline AIs released: nothing will start a session with them any more');
      return undefined;
    } catch (error) {
      return error ?? new Error('release failed');
    }
  }

  /** After `attempts` failed tries: the next waits for its delay, or the release is given up. */
  private async storeRetry(customerId: string, aiIds: readonly string[], attempts: number, error: unknown, id?: string): Promise<void> {
    const delayMs = this.retryDelaysMs[attempts - 1];
    if (delayMs === undefined) {
      this.context.logger.warn({ err: error, customerId, aiIds, attempts }, 'could not release inline AIs; giving up, they stay hidden');
      if (id) await this.context.db.deleteFrom('inline_ai_releases').where('id', '=', id).execute();
      return;
    }
    this.context.logger.warn({ err: error, customerId, aiIds, attempts, retryInMs: delayMs }, 'could not release inline AIs; trying again later');
    const nextTry = new Date(Date.now() + delayMs).toISOString();
    if (id) {
      await this.context.db.updateTable('inline_ai_releases').set({ attempts, tm_next_try: nextTry }).where('id', '=', id).execute();
      return;
    }
    await this.context.db
      .insertInto('inline_ai_releases')
      .values({ id: randomUUID(), customer_id: customerId, ai_ids: jsonb([...aiIds]), attempts, tm_next_try: nextTry, tm_create: new Date().toISOString() })
      .execute();
  }

  /**
   * Tries the stored releases that are due: each is claimed first (its next try moved on by
   * `claimMs`, rows other instances hold skipped), so two instances never try one at once.
   */
  async retryDue(): Promise<void> {
    const now = new Date().toISOString();
    const due = await this.context.db
      .updateTable('inline_ai_releases')
      .set({ tm_next_try: new Date(Date.now() + claimMs).toISOString() })
      .where('id', 'in', (query) => query.selectFrom('inline_ai_releases').select('id').where('tm_next_try', '<=', now).orderBy('tm_next_try').limit(20).forUpdate().skipLocked())
      .returningAll()
      .execute();
    for (const row of due) {
      if (this.stopped) return;
      const aiIds = row.ai_ids;
      const error = await this.tryRelease(row.customer_id, aiIds);
      if (error === undefined) await this.context.db.deleteFrom('inline_ai_releases').where('id', '=', row.id).execute();
      else await this.storeRetry(row.customer_id, aiIds, row.attempts + 1, error, row.id);
    }
  }

  private async stillCarried(customerId: string, aiIds: readonly string[]): Promise<Set<string>> {
    const carried = new Set<string>();
    for (const id of aiIds) {
      if (await outgoingFlowCarries(this.context.db, customerId, id)) {
        carried.add(id);
        continue;
      }
      const found = await this.context.db
        .selectFrom('activeflows')
        .select('id')
        .where('customer_id', '=', customerId)
        .where('status', '!=', 'ended')
        .where('tm_delete', 'is', null)
        .where('flow_id', 'is', null)
        .where(sql<boolean>`stacks::text like ${`%${id}%`}`)
        .limit(1)
        .executeTakeFirst();
      if (found) carried.add(id);
    }
    return carried;
  }
}
