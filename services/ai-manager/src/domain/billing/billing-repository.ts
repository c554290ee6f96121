import { creationTimestamps, currentTimestamp, listPage, newId, updateTimestamps, type ListQuery } from '@avp/shared';
import { sql, type Selectable } from 'kysely';
import type { AiManagerDb, BillingAccountsTable, BillingLedgerTable } from '../../db/tables.ts';

export type BillingAccountRow = Selectable<BillingAccountsTable>;
export type BillingLedgerRow = Selectable<BillingLedgerTable>;

/** A ledger entry to write (the account's balance is changed by the caller in the same transaction). */
export interface NewLedgerEntry {
  account_id: string;
  customer_id: string;
  kind: 'initial' | 'usage' | 'top_up';
  usage_id?: string | null;
  aicall_id?: string | null;
  usage_kind?: string;
  provider?: string;
  input_tokens?: number | null;
  output_tokens?: number | null;
  characters?: number | null;
  audio_seconds?: number | null;
  amount: number;
  balance_after: number;
  detail?: string;
}

export async function insertLedgerEntry(db: AiManagerDb, entry: NewLedgerEntry): Promise<BillingLedgerRow> {
  return db
    .insertInto('billing_ledger')
    .values({
      id: newId(),
      account_id: entry.account_id,
      customer_id: entry.customer_id,
      kind: entry.kind,
      usage_id: entry.usage_id ?? null,
      aicall_id: entry.aicall_id ?? null,
      usage_kind: entry.usage_kind ?? '',
      provider: entry.provider ?? '',
      input_tokens: entry.input_tokens ?? null,
      output_tokens: entry.output_tokens ?? null,
      characters: entry.characters ?? null,
      audio_seconds: entry.audio_seconds ?? null,
      amount: entry.amount,
      balance_after: entry.balance_after,
      detail: entry.detail ?? '',
      tm_create: currentTimestamp(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * Opens a customer's account with its starting balance (and the `initial` entry that
 * explains it), unless the customer has one: then nothing is written and this returns
 * undefined. Run it in a transaction.
 */
export async function insertAccountIfMissing(
  trx: AiManagerDb,
  fields: { customer_id: string; name: string; balance: number; currency: string },
): Promise<BillingAccountRow | undefined> {
  const account = await trx
    .insertInto('billing_accounts')
    .values({ id: newId(), ...fields, ...creationTimestamps() })
    .onConflict((conflict) => conflict.column('customer_id').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!account) return undefined;
  await insertLedgerEntry(trx, {
    account_id: account.id,
    customer_id: account.customer_id,
    kind: 'initial',
    amount: account.balance,
    balance_after: account.balance,
    detail: 'starting balance',
  });
  return account;
}

/** The customer's account; `lock` takes its row lock until the transaction ends. */
export async function findAccountOfCustomer(db: AiManagerDb, customerId: string, lock = false): Promise<BillingAccountRow | undefined> {
  let query = db.selectFrom('billing_accounts').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null);
  if (lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** An account by id; with a customer id, only that customer's; `lock` as above. */
export async function findAccount(db: AiManagerDb, id: string, customerId?: string, lock = false): Promise<BillingAccountRow | undefined> {
  let query = db.selectFrom('billing_accounts').selectAll().where('id', '=', id).where('tm_delete', 'is', null);
  if (customerId !== undefined) query = query.where('customer_id', '=', customerId);
  if (lock) query = query.forUpdate();
  return query.executeTakeFirst();
}

/** Adds `amount` (negative for a charge) to a balance; returns the account as it is now. */
export async function addToBalance(db: AiManagerDb, accountId: string, amount: number): Promise<BillingAccountRow> {
  return db
    .updateTable('billing_accounts')
    .set({ balance: sql<number>`balance + ${amount}`, ...updateTimestamps() })
    .where('id', '=', accountId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findLedgerEntryByUsage(db: AiManagerDb, usageId: string): Promise<BillingLedgerRow | undefined> {
  return db.selectFrom('billing_ledger').selectAll().where('usage_id', '=', usageId).executeTakeFirst();
}

export async function listAccounts(db: AiManagerDb, customerId: string, page: ListQuery) {
  return listPage(db.selectFrom('billing_accounts').selectAll().where('customer_id', '=', customerId).where('tm_delete', 'is', null), page);
}

export async function listLedger(db: AiManagerDb, accountId: string, page: ListQuery) {
  return listPage(db.selectFrom('billing_ledger').selectAll().where('account_id', '=', accountId), page);
}

/** What an AIcall's usage has been charged so far, in micro-units (positive). */
export async function sumAicallCharges(db: AiManagerDb, aicallId: string): Promise<number> {
  const row = await db
    .selectFrom('billing_ledger')
    .select(sql<string | number | null>`coalesce(sum(amount), 0)`.as('total'))
    .where('aicall_id', '=', aicallId)
    .where('kind', '=', 'usage')
    .executeTakeFirstOrThrow();
  return 0 - Number(row.total ?? 0);
}
