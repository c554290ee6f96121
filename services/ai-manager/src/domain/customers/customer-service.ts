import { type AccessKey, type OutboundPolicy, type CreatedCustomer, type Customer, type CustomerCreate, type CustomerUpdate, type IssuedAccessKey, type ListQuery, type ListResponse } from '@avp/shared';
import type { Kysely } from 'kysely';
import type { AiManagerDb, AiManagerTables } from '../../db/tables.ts';
import type { BillingService } from '../billing/billing-service.ts';
import { notFound } from '../not-found.ts';
import { generateAccessKey, generateWebhookSecret } from './access-key-secret.ts';
import {
  deleteCustomer,
  findCustomer,
  insertAccessKey,
  insertCustomer,
  listAccessKeys,
  listCustomers,
  revokeAccessKey,
  revokeCustomerKeys,
  updateCustomer,
  type AccessKeyRow,
  type CustomerRow,
} from './customer-repository.ts';

/** The public form of a customer row. */
export function toCustomer(row: CustomerRow): Customer {
  return {
    id: row.id,
    name: row.name,
    detail: row.detail,
    webhook_uri: row.webhook_uri,
    webhook_secret: row.webhook_secret,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

/** The public form of an access key row (never the key itself). */
export function toAccessKey(row: AccessKeyRow): AccessKey {
  return {
    id: row.id,
    customer_id: row.customer_id,
    name: row.name,
    key_prefix: row.key_prefix,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

async function issueKey(db: AiManagerDb, customerId: string, name: string): Promise<IssuedAccessKey> {
  const generated = generateAccessKey();
  const row = await insertAccessKey(db, {
    customer_id: customerId,
    name,
    key_hash: generated.hash,
    key_prefix: generated.prefix,
  });
  return { ...toAccessKey(row), key: generated.key };
}

/**
 * A webhook_uri may only name a public address (or one the operator allows): checked here
 * when it is saved, and again by the dispatcher for every delivery.
 */
async function checkWebhookUri(outbound: OutboundPolicy, uri: string | undefined): Promise<void> {
  if (uri !== undefined) await outbound.checkField('webhook_uri', uri, { allowEmpty: true });
}

/** Creates a customer with its first access key (and its billing account, given billing), in one transaction. */
export async function createCustomer(
  db: Kysely<AiManagerTables>,
  fields: CustomerCreate,
  outbound: OutboundPolicy,
  billing?: BillingService,
): Promise<CreatedCustomer> {
  await checkWebhookUri(outbound, fields.webhook_uri);
  return db.transaction().execute(async (trx) => {
    const row = await insertCustomer(trx, { ...fields, webhook_secret: generateWebhookSecret() });
    await billing?.openAccount(trx, row.id, row.name);
    const key = await issueKey(trx, row.id, 'first key');
    return { ...toCustomer(row), accesskey: { id: key.id, key: key.key } };
  });
}

export async function getCustomer(db: Kysely<AiManagerTables>, id: string): Promise<Customer> {
  const row = await findCustomer(db, id);
  if (!row) throw notFound('customer');
  return toCustomer(row);
}

export async function listCustomerPage(db: Kysely<AiManagerTables>, page: ListQuery): Promise<ListResponse<Customer>> {
  const list = await listCustomers(db, page);
  return { result: list.result.map(toCustomer), next_page_token: list.next_page_token };
}

export async function changeCustomer(db: Kysely<AiManagerTables>, id: string, fields: CustomerUpdate, outbound: OutboundPolicy): Promise<Customer> {
  await checkWebhookUri(outbound, fields.webhook_uri);
  const row = await updateCustomer(db, id, fields);
  if (!row) throw notFound('customer');
  return toCustomer(row);
}

/** Soft-deletes a customer and revokes all its keys. */
export async function removeCustomer(db: Kysely<AiManagerTables>, id: string): Promise<Customer> {
  return db.transaction().execute(async (trx) => {
    const row = await deleteCustomer(trx, id);
    if (!row) throw notFound('customer');
    await revokeCustomerKeys(trx, id);
    return toCustomer(row);
  });
}

/** Issues another key for a live customer. */
export async function issueAccessKey(db: Kysely<AiManagerTables>, customerId: string, name: string): Promise<IssuedAccessKey> {
  if (!(await findCustomer(db, customerId))) throw notFound('customer');
  return issueKey(db, customerId, name);
}

export async function listCustomerAccessKeys(
  db: Kysely<AiManagerTables>,
  customerId: string,
  page: ListQuery,
): Promise<ListResponse<AccessKey>> {
  if (!(await findCustomer(db, customerId))) throw notFound('customer');
  const list = await listAccessKeys(db, customerId, page);
  return { result: list.result.map(toAccessKey), next_page_token: list.next_page_token };
}

export async function revokeCustomerAccessKey(db: Kysely<AiManagerTables>, customerId: string, keyId: string): Promise<AccessKey> {
  const row = await revokeAccessKey(db, customerId, keyId);
  if (!row) throw notFound('access key');
  return toAccessKey(row);
}
