import { rpcCall, type Action, type ActiveflowStack } from '@avp/shared';
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
 */
export class InlineAiReleaser {
  /** Releases to try again (ai-manager did not answer), by timer. */
  private readonly retries = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly context: DomainContext,
    /** The waits before each new try of a release ai-manager did not take (then it is given up, logged). */
    private readonly retryDelaysMs: readonly number[] = [5_000, 30_000, 120_000],
  ) {}

  /** Drops the releases waiting for another try (shutdown): their AIs stay hidden. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
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
   * a failure is logged and tried again after each of `retryDelaysMs` (everything checked
   * afresh), then given up: the AIs stay hidden. Retries live in this process.
   */
  async release(customerId: string, aiIds: readonly string[], attempt = 0): Promise<void> {
    const candidates = [...aiIds];
    if (candidates.length === 0 || this.stopped) return;
    try {
      const stillCarried = await this.stillCarried(customerId, candidates);
      const unused = candidates.filter((id) => !stillCarried.has(id));
      if (unused.length === 0) return;
      const reply = await rpcCall<{ released: number; deleted: number }>(
        this.context.bus,
        'ai-manager',
        'POST',
        '/v1/inline_ais/release',
        { customer_id: customerId, ai_ids: unused },
        { publisher: flowManagerServiceName, timeoutMs: 5000 },
      );
      this.context.logger.info({ customerId, aiIds: unused, ...reply }, 'inline AIs released: nothing will start a session with them any more');
    } catch (error) {
      const delayMs = this.retryDelaysMs[attempt];
      if (delayMs === undefined || this.stopped) {
        this.context.logger.warn({ err: error, customerId, aiIds: candidates, attempts: attempt + 1 }, 'could not release inline AIs; giving up, they stay hidden');
        return;
      }
      this.context.logger.warn({ err: error, customerId, aiIds: candidates, retryInMs: delayMs }, 'could not release inline AIs; trying again later');
      const timer = setTimeout(() => {
        this.retries.delete(timer);
        void this.release(customerId, candidates, attempt + 1);
      }, delayMs).unref();
      this.retries.add(timer);
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
