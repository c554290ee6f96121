import { creationTimestamps, jsonb, listPage, type AimessageLatency, type ListQuery, type ToolCall } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AiManagerDb, AimessagesTable } from '../../db/tables.ts';

export type AimessageRow = Selectable<AimessagesTable>;

export interface NewAimessage {
  id: string;
  customer_id: string;
  aicall_id: string;
  activeflow_id: string | null;
  active_ai_id: string | null;
  role: string;
  content: string;
  direction: string;
  tool_calls: ToolCall[];
  tool_call_id: string;
  latency?: AimessageLatency | null;
  report_id?: string | null;
}

export async function insertAimessage(db: AiManagerDb, fields: NewAimessage): Promise<AimessageRow> {
  return db
    .insertInto('aimessages')
    .values({ ...fields, tool_calls: jsonb(fields.tool_calls), latency: jsonb(fields.latency ?? null), ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The message a pipeline report stored on an AIcall, by the report's idempotency key. */
export async function findReportedAimessage(db: AiManagerDb, aicallId: string, reportId: string): Promise<AimessageRow | undefined> {
  return db.selectFrom('aimessages').selectAll().where('aicall_id', '=', aicallId).where('report_id', '=', reportId).executeTakeFirst();
}

export async function findAimessage(db: AiManagerDb, customerId: string, id: string): Promise<AimessageRow | undefined> {
  return db
    .selectFrom('aimessages')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
}

export async function listAimessages(db: AiManagerDb, customerId: string, aicallId: string, page: ListQuery) {
  const query = db
    .selectFrom('aimessages')
    .selectAll()
    .where('aicall_id', '=', aicallId)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null);
  return listPage(query, page);
}
