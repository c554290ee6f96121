import {
  appError,
  creationTimestamps,
  deletionTimestamps,
  isUniqueViolation,
  listPage,
  newId,
  toApiTimestamp,
  updateTimestamps,
  type ListQuery,
  type ListResponse,
  type NumberFields,
  type PhoneNumber,
} from '@avp/shared';
import type { Selectable } from 'kysely';
import type { FlowManagerDb, NumbersTable } from '../../db/tables.ts';
import { published, type DomainContext } from '../context.ts';
import { getFlow } from '../flows/flow-service.ts';
import { notFound } from '../not-found.ts';

export type NumberRow = Selectable<NumbersTable>;

export function toNumber(row: NumberRow): PhoneNumber {
  return {
    id: row.id,
    customer_id: row.customer_id,
    number: row.number,
    call_flow_id: row.call_flow_id,
    message_flow_id: row.message_flow_id,
    tm_create: toApiTimestamp(row.tm_create),
    tm_update: toApiTimestamp(row.tm_update),
    tm_delete: row.tm_delete ? toApiTimestamp(row.tm_delete) : null,
  };
}

async function checkFlows(context: DomainContext, customerId: string, fields: NumberFields): Promise<void> {
  if (fields.call_flow_id) await getFlow(context, customerId, fields.call_flow_id);
  if (fields.message_flow_id) await getFlow(context, customerId, fields.message_flow_id);
}

function taken(error: unknown, number: string): never {
  if (isUniqueViolation(error)) throw appError('RESOURCE_ALREADY_EXISTS', `The number ${number} is in use.`);
  throw error;
}

export async function createNumber(context: DomainContext, customerId: string, fields: NumberFields): Promise<PhoneNumber> {
  await checkFlows(context, customerId, fields);
  const row = await context.db
    .insertInto('numbers')
    .values({ id: newId(), customer_id: customerId, ...fields, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch((error: unknown) => taken(error, fields.number));
  return published(context, 'number_created', toNumber(row));
}

export async function getNumber(context: DomainContext, customerId: string, id: string): Promise<PhoneNumber> {
  const row = await context.db
    .selectFrom('numbers')
    .selectAll()
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .executeTakeFirst();
  if (!row) throw notFound('Number');
  return toNumber(row);
}

export async function listNumbers(context: DomainContext, customerId: string, page: ListQuery): Promise<ListResponse<PhoneNumber>> {
  const query = context.db.selectFrom('numbers').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  return listPage(query, page, { project: toNumber });
}

export async function updateNumber(context: DomainContext, customerId: string, id: string, fields: NumberFields): Promise<PhoneNumber> {
  await checkFlows(context, customerId, fields);
  const row = await context.db
    .updateTable('numbers')
    .set({ ...fields, ...updateTimestamps() })
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst()
    .catch((error: unknown) => taken(error, fields.number));
  if (!row) throw notFound('Number');
  return published(context, 'number_updated', toNumber(row));
}

export async function deleteNumber(context: DomainContext, customerId: string, id: string): Promise<PhoneNumber> {
  const row = await context.db
    .updateTable('numbers')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw notFound('Number');
  return published(context, 'number_deleted', toNumber(row));
}

/** The live number row for a dialled number, whoever owns it. */
export async function findNumberByValue(db: FlowManagerDb, number: string): Promise<NumberRow | undefined> {
  return db.selectFrom('numbers').selectAll().where('number', '=', number).where('tm_delete', 'is', null).executeTakeFirst();
}
