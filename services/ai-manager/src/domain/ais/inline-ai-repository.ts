import { deletionTimestamps } from '@avp/shared';
import { sql } from 'kysely';
import type { AiManagerDb } from '../../db/tables.ts';
import type { AiRow } from './ai-repository.ts';

/**
 * Inline AIs: AI rows of a customer's that hold the settings of one action of an owner (a
 * flow, an activeflow started with actions, one `POST /v1.0/calls`). Every query is scoped by
 * the customer first: another customer's owner id reaches nothing of theirs.
 */

/**
 * Serialises the changes to one owner's inline AIs until the transaction ends, so two saves of
 * the same flow at once cannot both create its action's AI.
 */
export async function lockInlineOwner(trx: AiManagerDb, customerId: string, ownerId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`inline_ais/${customerId}/${ownerId}`}, 0))`.execute(trx);
}

/** The live inline AI of an owner's action, locked for a read-modify-write. */
export async function findInlineAiForUpdate(trx: AiManagerDb, customerId: string, ownerId: string, actionId: string): Promise<AiRow | undefined> {
  return trx
    .selectFrom('ais')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('inline_owner_id', '=', ownerId)
    .where('inline_action_id', '=', actionId)
    .where('tm_delete', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

/** Soft-deletes the owner's inline AIs of actions other than `keptActionIds`; answers how many. */
export async function deleteInlineAisExcept(trx: AiManagerDb, customerId: string, ownerId: string, keptActionIds: readonly string[]): Promise<number> {
  let query = trx
    .updateTable('ais')
    .set(deletionTimestamps())
    .where('customer_id', '=', customerId)
    .where('inline_owner_id', '=', ownerId)
    .where('tm_delete', 'is', null);
  if (keptActionIds.length > 0) query = query.where('inline_action_id', 'not in', [...keptActionIds]);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Marks the customer's inline AIs among `aiIds` whose owner (an activeflow, one request of
 * outgoing calls) can start no more sessions; answers the ids marked. A flow's are never marked:
 * they live as long as their action.
 */
export async function markInlineOwnersEnded(trx: AiManagerDb, customerId: string, aiIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .updateTable('ais')
    .set({ inline_owner_ended: true })
    .where('customer_id', '=', customerId)
    .where('id', 'in', [...aiIds])
    .where('inline_owner_type', 'in', ['activeflow', 'calls'])
    .where('tm_delete', 'is', null)
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

/**
 * Soft-deletes an inline AI whose owner ended once no session runs it (no AIcall of it short of
 * `terminated`); answers whether it did. The AI's row is locked first, so of a release and a
 * session's end, or of two sessions' ends, at once, the later one sees the earlier committed and
 * deletes it: it cannot stay behind with both thinking the other still needs it.
 */
export async function deleteReleasedInlineAi(trx: AiManagerDb, aiId: string): Promise<boolean> {
  const released = await trx.selectFrom('ais').select('id').where('id', '=', aiId).where('inline_owner_ended', '=', true).where('tm_delete', 'is', null).forUpdate().executeTakeFirst();
  if (!released) return false;
  const result = await trx
    .updateTable('ais')
    .set(deletionTimestamps())
    .where('id', '=', aiId)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('aicalls').select('aicalls.id').whereRef('aicalls.assistance_id', '=', 'ais.id').where('aicalls.status', '!=', 'terminated').where('aicalls.tm_delete', 'is', null))),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
