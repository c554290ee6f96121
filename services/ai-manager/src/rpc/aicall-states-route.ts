import { toAppError, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import type { AiManagerDb } from '../db/tables.ts';

const statesSchema = z.strictObject({
  aicalls: z.array(z.strictObject({ id: z.uuid(), customer_id: z.uuid() })).max(1000),
});

/**
 * `POST /v1/aicalls/states` `{aicalls: [{id, customer_id}]}` → `{result: [{id, status,
 * pipeline_epoch}]}`: the status of each AIcall, `null` when the customer has no such AIcall,
 * and the epoch of its current pipeline (a pipeline of another epoch was replaced by crash
 * resumption and stops itself without a word). pipeline-manager asks it
 * every few seconds for all its pipelines at once, in one request, and stops a pipeline whose
 * AIcall has ended or does not exist (an orphan ai-manager gave up on).
 *
 * A soft-deleted AIcall answers its status: deleting the record does not end a session. Each
 * pair is matched on id and customer, so another customer's AIcall is `null` like a missing one.
 */
export function addAicallStatesRoute(router: RpcRouter, db: AiManagerDb): void {
  router.add('POST', '/v1/aicalls/states', async ({ data }) => {
    const parsed = statesSchema.safeParse(data);
    if (!parsed.success) throw toAppError(parsed.error);
    const asked = parsed.data.aicalls.map((aicall) => ({ id: aicall.id.toLowerCase(), customerId: aicall.customer_id.toLowerCase() }));
    const rows =
      asked.length === 0
        ? []
        : await db
            .selectFrom('aicalls')
            .select(['id', 'customer_id', 'status', 'pipeline_epoch'])
            .where(
              'id',
              'in',
              asked.map((aicall) => aicall.id),
            )
            .execute();
    const found = new Map(rows.map((row) => [row.id, row]));
    return {
      result: asked.map(({ id, customerId }) => {
        const row = found.get(id);
        const own = row && row.customer_id === customerId ? row : undefined;
        return { id, status: own ? own.status : null, pipeline_epoch: own ? own.pipeline_epoch : null };
      }),
    };
  });
}
