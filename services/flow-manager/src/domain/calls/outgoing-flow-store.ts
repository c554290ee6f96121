import { currentTimestamp, jsonb, toApiTimestamp, type Action } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { FlowManagerDb, OutgoingFlowsTable } from '../../db/tables.ts';

export type OutgoingFlowRow = Selectable<OutgoingFlowsTable>;

/** What an outgoing call runs once answered, as `POST /v1.0/calls` gave it. */
export interface OutgoingFlow {
  callId: string;
  customerId: string;
  flowId: string | null;
  actions: Action[];
  variables: Record<string, string>;
  inlineAiIds: string[];
  ringDeadline: Date;
}

function toOutgoingFlow(row: OutgoingFlowRow): OutgoingFlow {
  return {
    callId: row.call_id,
    customerId: row.customer_id,
    flowId: row.flow_id,
    actions: row.actions,
    variables: row.variables,
    inlineAiIds: row.inline_ai_ids,
    ringDeadline: new Date(toApiTimestamp(row.tm_ring_deadline)),
  };
}

export async function insertOutgoingFlow(db: FlowManagerDb, flow: OutgoingFlow): Promise<void> {
  await db
    .insertInto('outgoing_flows')
    .values({
      call_id: flow.callId,
      customer_id: flow.customerId,
      flow_id: flow.flowId,
      actions: jsonb(flow.actions),
      variables: jsonb(flow.variables),
      inline_ai_ids: jsonb(flow.inlineAiIds),
      tm_ring_deadline: toApiTimestamp(flow.ringDeadline),
      tm_create: currentTimestamp(),
    })
    .execute();
}

/**
 * Claims the call's flow for starting: answers it once, to one caller (another instance, or a
 * repeated answer event, gets nothing). The row stays, marked, until `removeOutgoingFlow`, so
 * its inline AIs are held until the activeflow that carries them is stored.
 */
export async function claimOutgoingFlow(db: FlowManagerDb, callId: string): Promise<OutgoingFlow | undefined> {
  const row = await db.updateTable('outgoing_flows').set({ answered: true }).where('call_id', '=', callId).where('answered', '=', false).returningAll().executeTakeFirst();
  return row && toOutgoingFlow(row);
}

/** Removes the call's flow; answers it if it was still waiting for an answer (never claimed). */
export async function removeOutgoingFlow(db: FlowManagerDb, callId: string): Promise<OutgoingFlow | undefined> {
  const row = await db.deleteFrom('outgoing_flows').where('call_id', '=', callId).returningAll().executeTakeFirst();
  return row && !row.answered ? toOutgoingFlow(row) : undefined;
}

/** The flows of calls not answered yet (their ring deadlines are armed again after a restart). */
export async function waitingOutgoingFlows(db: FlowManagerDb): Promise<OutgoingFlow[]> {
  return (await db.selectFrom('outgoing_flows').selectAll().where('answered', '=', false).execute()).map(toOutgoingFlow);
}

/** Whether a stored outgoing flow of the customer's (ringing, or being started) carries the inline AI. */
export async function outgoingFlowCarries(db: FlowManagerDb, customerId: string, aiId: string): Promise<boolean> {
  const row = await db
    .selectFrom('outgoing_flows')
    .select('call_id')
    .where('customer_id', '=', customerId)
    .where('inline_ai_ids', '@>', jsonb([aiId]))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
