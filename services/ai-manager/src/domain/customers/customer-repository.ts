import { creationTimestamps, deletionTimestamps, listPage, newId, updateTimestamps, type ListQuery } from '@avp/shared';
import type { Selectable } from 'kysely';
import type { AccessKeysTable, AiManagerDb, CustomersTable } from '../../db/tables.ts';

export type CustomerRow = Selectable<CustomersTable>;
export type AccessKeyRow = Selectable<AccessKeysTable>;

export async function insertCustomer(
  db: AiManagerDb,
  fields: { name: string; detail: string; webhook_uri: string; webhook_secret: string },
): Promise<CustomerRow> {
  return db
    .insertInto('customers')
    .values({ id: newId(), ...fields, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findCustomer(db: AiManagerDb, id: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customers').selectAll().where('id', '=', id).where('tm_delete', 'is', null).executeTakeFirst();
}

/** A customer, also a deleted one (billing still records a deleted customer's last usage). */
export async function findCustomerAnyState(db: AiManagerDb, id: string): Promise<CustomerRow | undefined> {
  return db.selectFrom('customers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCustomers(db: AiManagerDb, page: ListQuery) {
  return listPage(db.selectFrom('customers').selectAll().where('tm_delete', 'is', null), page);
}

export async function countCustomers(db: AiManagerDb): Promise<number> {
  const row = await db.selectFrom('customers').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function updateCustomer(
  db: AiManagerDb,
  id: string,
  fields: { name?: string; detail?: string; webhook_uri?: string },
): Promise<CustomerRow | undefined> {
  return db
    .updateTable('customers')
    .set({ ...fields, ...updateTimestamps() })
    .where('id', '=', id)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteCustomer(db: AiManagerDb, id: string): Promise<CustomerRow | undefined> {
  return db
    .updateTable('customers')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

export async function insertAccessKey(
  db: AiManagerDb,
  fields: { customer_id: string; name: string; key_hash: string; key_prefix: string },
): Promise<AccessKeyRow> {
  return db
    .insertInto('access_keys')
    .values({ id: newId(), ...fields, ...creationTimestamps() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listAccessKeys(db: AiManagerDb, customerId: string, page: ListQuery) {
  const query = db
    .selectFrom('access_keys')
    .selectAll()
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null);
  return listPage(query, page);
}

export async function revokeAccessKey(db: AiManagerDb, customerId: string, id: string): Promise<AccessKeyRow | undefined> {
  return db
    .updateTable('access_keys')
    .set(deletionTimestamps())
    .where('id', '=', id)
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Revokes every key of a customer (when the customer is deleted). */
export async function revokeCustomerKeys(db: AiManagerDb, customerId: string): Promise<void> {
  await db
    .updateTable('access_keys')
    .set(deletionTimestamps())
    .where('customer_id', '=', customerId)
    .where('tm_delete', 'is', null)
    .execute();
}

/** The live key with this hash and its live customer. */
export async function findKeyByHash(
  db: AiManagerDb,
  keyHash: string,
): Promise<{ key_id: string; customer_id: string } | undefined> {
  return db
    .selectFrom('access_keys')
    .innerJoin('customers', 'customers.id', 'access_keys.customer_id')
    .select(['access_keys.id as key_id', 'access_keys.customer_id'])
    .where('access_keys.key_hash', '=', keyHash)
    .where('access_keys.tm_delete', 'is', null)
    .where('customers.tm_delete', 'is', null)
    .executeTakeFirst();
}

/** Which of these key ids are live keys of live customers (the WebSocket key check). */
export async function findLiveKeyIds(db: AiManagerDb, keyIds: string[]): Promise<Set<string>> {
  if (keyIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('access_keys')
    .innerJoin('customers', 'customers.id', 'access_keys.customer_id')
    .select('access_keys.id')
    .where('access_keys.id', 'in', keyIds)
    .where('access_keys.tm_delete', 'is', null)
    .where('customers.tm_delete', 'is', null)
    .execute();
  return new Set(rows.map((row) => row.id));
}
