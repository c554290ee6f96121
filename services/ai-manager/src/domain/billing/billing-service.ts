import {
  appError,
  isUniqueViolation,
  type BillingAccount,
  type BillingLedgerEntry,
  type BillingUsage,
  type ListQuery,
  type ListResponse,
} from '@avp/shared';
import type { Kysely } from 'kysely';
import type { AiManagerDb, AiManagerTables } from '../../db/tables.ts';
import { findCustomerAnyState } from '../customers/customer-repository.ts';
import { notFound } from '../not-found.ts';
import {
  addToBalance,
  findAccount,
  findAccountOfCustomer,
  findLedgerEntryByUsage,
  insertAccountIfMissing,
  insertLedgerEntry,
  listAccounts,
  listLedger,
  sumAicallCharges,
  type BillingAccountRow,
  type BillingLedgerRow,
} from './billing-repository.ts';
import { defaultBillingRates, formatUnits, priceUsage, toMicroUnits, type BillingRates } from './billing-rates.ts';

/** The ledger `detail` of usage spent on an answer prepared ahead and dropped (the caller went on). */
export const discardedUsageDetail = 'answer prepared ahead, dropped: the caller went on';

/** How billing is configured; every amount in micro-units (1 unit = 1,000,000). */
export interface BillingSettings {
  /** What a new account starts with (`BILLING_INITIAL_BALANCE`). */
  initialBalance: number;
  /** Starting a session needs at least this balance (`BILLING_MINIMUM_BALANCE`). */
  minimumBalance: number;
  /** A live session whose charge leaves the balance below this is ended (`BILLING_CUTOFF_BALANCE`). */
  cutoffBalance: number;
  currency: string;
  rates: BillingRates;
  /** What the AI says before a session ends for lack of balance. */
  goodbyeText: string;
}

export const defaultBillingSettings: BillingSettings = {
  initialBalance: toMicroUnits(10),
  minimumBalance: toMicroUnits(0.01),
  cutoffBalance: 0,
  currency: 'USD',
  rates: defaultBillingRates,
  goodbyeText: 'I am sorry, the account balance has run out, so this conversation has to end now. Goodbye.',
};

export function toBillingAccount(row: BillingAccountRow): BillingAccount {
  return {
    id: row.id,
    customer_id: row.customer_id,
    name: row.name,
    balance: Number(row.balance),
    currency: row.currency,
    tm_create: row.tm_create,
    tm_update: row.tm_update,
    tm_delete: row.tm_delete,
  };
}

export function toBillingLedgerEntry(row: BillingLedgerRow): BillingLedgerEntry {
  return {
    id: row.id,
    account_id: row.account_id,
    customer_id: row.customer_id,
    kind: row.kind as BillingLedgerEntry['kind'],
    usage_id: row.usage_id,
    aicall_id: row.aicall_id,
    usage_kind: row.usage_kind as BillingLedgerEntry['usage_kind'],
    provider: row.provider,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    characters: row.characters,
    audio_seconds: row.audio_seconds,
    amount: Number(row.amount),
    balance_after: Number(row.balance_after),
    detail: row.detail,
    tm_create: row.tm_create,
  };
}

/** A usage recorded: its entry, whether this call wrote it (false for a replay), and whether the balance is now below the cutoff. */
export interface RecordedUsage {
  entry: BillingLedgerEntry;
  created: boolean;
  exhausted: boolean;
}

/**
 * Billing accounts, their ledger and the balance checks. Every balance change writes one
 * ledger entry with the balance after it, in the transaction that changes the balance and
 * under the account's row lock, so the ledger always adds up to the balance.
 */
export class BillingService {
  readonly settings: BillingSettings;

  constructor(
    private readonly db: Kysely<AiManagerTables>,
    settings: Partial<BillingSettings> = {},
  ) {
    this.settings = { ...defaultBillingSettings, ...settings };
  }

  /** Opens a new customer's account with the starting balance; call it in the customer's creation transaction. */
  async openAccount(trx: AiManagerDb, customerId: string, name: string): Promise<void> {
    await insertAccountIfMissing(trx, {
      customer_id: customerId,
      name,
      balance: this.settings.initialBalance,
      currency: this.settings.currency,
    });
  }

  /**
   * The customer's account, locked when asked; a customer created before billing existed
   * gets its account (with the starting balance) now. Run it in a transaction.
   */
  private async accountIn(trx: AiManagerDb, customerId: string, lock: boolean): Promise<BillingAccountRow> {
    const existing = await findAccountOfCustomer(trx, customerId, lock);
    if (existing) return existing;
    const customer = await findCustomerAnyState(trx, customerId);
    if (!customer) throw notFound('customer');
    // A concurrent first use may have opened it meanwhile: then this inserts nothing.
    await this.openAccount(trx, customerId, customer.name);
    const opened = await findAccountOfCustomer(trx, customerId, lock);
    if (!opened) throw notFound('billing account');
    return opened;
  }

  /** The customer's account (opened on first use for customers older than billing). */
  async accountOf(customerId: string): Promise<BillingAccountRow> {
    const existing = await findAccountOfCustomer(this.db, customerId);
    if (existing) return existing;
    return this.db.transaction().execute((trx) => this.accountIn(trx, customerId, false));
  }

  async listAccountPage(customerId: string, page: ListQuery): Promise<ListResponse<BillingAccount>> {
    await this.accountOf(customerId);
    const list = await listAccounts(this.db, customerId, page);
    return { result: list.result.map(toBillingAccount), next_page_token: list.next_page_token };
  }

  /** One of the caller's accounts; another customer's is a 404 like a missing one. */
  async getAccount(customerId: string | undefined, id: string): Promise<BillingAccount> {
    const row = await findAccount(this.db, id, customerId);
    if (!row) throw notFound('billing account');
    return toBillingAccount(row);
  }

  /** The account's ledger, newest first. */
  async ledgerPage(customerId: string | undefined, accountId: string, page: ListQuery): Promise<ListResponse<BillingLedgerEntry>> {
    await this.getAccount(customerId, accountId);
    const list = await listLedger(this.db, accountId, page);
    return { result: list.result.map(toBillingLedgerEntry), next_page_token: list.next_page_token };
  }

  /** Admin: adds `amount` micro-units to an account as a `top_up` entry. */
  async addBalance(accountId: string, amount: number, detail: string): Promise<BillingAccount> {
    return this.db.transaction().execute(async (trx) => {
      const account = await findAccount(trx, accountId, undefined, true);
      if (!account) throw notFound('billing account');
      // Balances are JSON numbers: past 2^53 they are no longer exact (and the bigint column
      // overflows a little later), so a top-up may not take the balance there.
      if (Number(account.balance) + amount > Number.MAX_SAFE_INTEGER) {
        const problem = `amount: the balance would exceed ${Number.MAX_SAFE_INTEGER} micro-units`;
        throw appError('VALIDATION_FAILED', problem, { problems: [problem] });
      }
      const updated = await addToBalance(trx, account.id, amount);
      await insertLedgerEntry(trx, {
        account_id: account.id,
        customer_id: account.customer_id,
        kind: 'top_up',
        amount,
        balance_after: Number(updated.balance),
        detail,
      });
      return toBillingAccount(updated);
    });
  }

  /**
   * Charges one usage event: one ledger entry per usage id and the balance changed with it,
   * both in one transaction under the account's row lock. A replay of an id already
   * recorded (also a concurrent one) changes nothing and returns the same entry.
   */
  async recordUsage(usage: BillingUsage): Promise<RecordedUsage> {
    const charge = priceUsage(this.settings.rates, usage);
    const replay = (row: BillingLedgerRow): RecordedUsage => {
      if (row.customer_id !== usage.customer_id) {
        throw appError('RESOURCE_ALREADY_EXISTS', 'This usage id is already recorded for another customer.');
      }
      return { entry: toBillingLedgerEntry(row), created: false, exhausted: false };
    };
    const seen = await findLedgerEntryByUsage(this.db, usage.id);
    if (seen) return replay(seen);
    try {
      return await this.db.transaction().execute(async (trx) => {
        const account = await this.accountIn(trx, usage.customer_id, true);
        // Under the lock: a concurrent report of the same id has committed or not started.
        const recorded = await findLedgerEntryByUsage(trx, usage.id);
        if (recorded) return replay(recorded);
        const updated = await addToBalance(trx, account.id, -charge);
        const balance = Number(updated.balance);
        const row = await insertLedgerEntry(trx, {
          account_id: account.id,
          customer_id: account.customer_id,
          kind: 'usage',
          usage_id: usage.id,
          aicall_id: usage.aicall_id ?? null,
          usage_kind: usage.kind,
          provider: usage.provider,
          input_tokens: usage.input_tokens ?? null,
          output_tokens: usage.output_tokens ?? null,
          characters: usage.characters ?? null,
          audio_seconds: usage.audio_seconds ?? null,
          ...(usage.discarded ? { detail: discardedUsageDetail } : {}),
          amount: -charge,
          balance_after: balance,
        });
        return { entry: toBillingLedgerEntry(row), created: true, exhausted: balance < this.settings.cutoffBalance };
      });
    } catch (error) {
      // Another account's transaction recorded the same id first (a replay naming another customer).
      if (isUniqueViolation(error, 'billing_ledger_usage_id_key')) {
        const recorded = await findLedgerEntryByUsage(this.db, usage.id);
        if (recorded) return replay(recorded);
      }
      throw error;
    }
  }

  /** Refuses to start a session (402 INSUFFICIENT_BALANCE) when the balance is below the minimum. */
  async assertCanStart(customerId: string): Promise<void> {
    const account = await this.accountOf(customerId);
    const balance = Number(account.balance);
    if (balance >= this.settings.minimumBalance) return;
    throw appError(
      'INSUFFICIENT_BALANCE',
      `The billing account balance (${formatUnits(balance)} ${account.currency}) is below the ${formatUnits(this.settings.minimumBalance)} ${account.currency} needed to start a session.`,
      { account_id: account.id, balance, minimum_balance: this.settings.minimumBalance, currency: account.currency },
    );
  }

  /** What an AIcall's session has been charged so far, in micro-units. */
  async aicallCost(aicallId: string): Promise<number> {
    return sumAicallCharges(this.db, aicallId);
  }
}
