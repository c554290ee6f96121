import { creationTimestamps, deletionTimestamps, newId } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { BridgesTable, FlowManagerDb } from '../../db/tables.ts';

export type BridgeRow = Selectable<BridgesTable>;

/** Records a bridge the telephony side made for a customer; answers our id for it. */
export async function insertBridge(db: FlowManagerDb, input: { customerId: string; controlId: string; name: string }): Promise<BridgeRow> {
  return db
    .insertInto('bridges')
    .values({ id: newId(), customer_id: input.customerId, control_id: input.controlId, name: input.name, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The customer's live bridge with this id (another customer's is not found, like a missing one). */
export async function findCustomerBridge(db: FlowManagerDb, customerId: string, id: string): Promise<BridgeRow | undefined> {
  return db
    .selectFrom('bridges')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
}

export async function markBridgeDestroyed(db: FlowManagerDb, id: string): Promise<void> {
  await db.updateTable('bridges').set(deletionTimestamps()).where('id', '=', id).execute();
}
