import { randomUUID } from 'node:crypto';
import { rpcCall } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import type { AiManagerTables } from '../../db/tables.ts';
import { aiBody, call, createTestCustomer, eventually, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

/** The starting balance of a new account with the default settings: 10 units. */
const initialBalance = 10_000_000;

interface Ledger {
  id: string;
  kind: string;
  usage_id: string | null;
  aicall_id: string | null;
  amount: number;
  balance_after: number;
  detail: string;
}

async function accountOf(harness: Harness, key: string) {
  const list = await call(harness, 'GET', '/v1.0/billing-accounts', { key });
  expect(list.status).toBe(200);
  expect(list.body.result).toHaveLength(1);
  return list.body.result[0] as { id: string; customer_id: string; balance: number; currency: string };
}

async function ledgerOf(harness: Harness, key: string, accountId: string): Promise<Ledger[]> {
  const ledger = await call(harness, 'GET', `/v1.0/billing-accounts/${accountId}/ledger`, { key });
  expect(ledger.status).toBe(200);
  return ledger.body.result as Ledger[];
}

/** Reports a usage event the way the pipeline does; answers the ledger entry. */
function reportUsage(harness: Harness, usage: Record<string, unknown>): Promise<Ledger> {
  return rpcCall<Ledger>(harness.bus, 'ai-manager', 'POST', '/v1/usages', usage);
}

/**
 * Billing: accounts per customer, admin top-ups, idempotent usage charges, the balance check
 * at the start of a session, an AIcall's cost, and sessions ended when the balance runs out.
 * Default settings: 10 units to start, 0.01 minimum, cutoff 0, built-in rates.
 */
export function billingSuite(get: GetContext): void {
  describe('billing', () => {
    it('opens an account with the starting balance per customer, isolated from other customers', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness, 'billed');
      const other = await createTestCustomer(harness, 'other');
      const list = await call(harness, 'GET', '/v1.0/billing-accounts', { key: customer.key });
      expect(list.body).toEqual({ result: [expect.objectContaining({ customer_id: customer.id, balance: initialBalance, currency: 'USD', name: 'billed' })], next_page_token: '' });
      const account = list.body.result[0];
      expect((await call(harness, 'GET', `/v1.0/billing-accounts/${account.id}`, { key: customer.key })).body).toEqual(account);
      const ledger = await ledgerOf(harness, customer.key, account.id);
      expect(ledger).toEqual([expect.objectContaining({ kind: 'initial', amount: initialBalance, balance_after: initialBalance })]);

      // Another customer's account and ledger are 404, exactly like missing ones.
      for (const url of [`/v1.0/billing-accounts/${account.id}`, `/v1.0/billing-accounts/${account.id}/ledger`]) {
        const foreign = await call(harness, 'GET', url, { key: other.key });
        const missing = await call(harness, 'GET', url.replace(account.id, randomUUID()), { key: other.key });
        expect(foreign.status).toBe(404);
        expect(foreign.body.error.message).toBe(missing.body.error.message);
        expect(foreign.body.error.reason).toBe('RESOURCE_NOT_FOUND');
      }
      expect((await accountOf(harness, other.key)).id).not.toBe(account.id);
      expect((await call(harness, 'GET', '/v1.0/billing-accounts')).status).toBe(401);
      // The admin finds a customer's account.
      expect((await call(harness, 'GET', `/v1.0/customers/${customer.id}/billing-account`, { admin: true })).body).toEqual(account);
    });

    it('opens the account on first use for a customer created without one', async () => {
      const { harness, database } = get();
      const customer = await createTestCustomer(harness);
      const db = database.forSchema<AiManagerTables>('ai_manager');
      await db.deleteFrom('billing_ledger').where('customer_id', '=', customer.id).execute();
      await db.deleteFrom('billing_accounts').where('customer_id', '=', customer.id).execute();
      const account = await accountOf(harness, customer.key);
      expect(account.balance).toBe(initialBalance);
      expect(await ledgerOf(harness, customer.key, account.id)).toHaveLength(1);
    });

    it('adds balance through the admin API as a top_up entry', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const account = await accountOf(harness, customer.key);
      const url = `/v1.0/billing-accounts/${account.id}/balance_add`;
      const added = await call(harness, 'POST', url, { admin: true, body: { amount: 2_500_000, detail: 'invoice 42' } });
      expect(added.status).toBe(200);
      expect(added.body).toMatchObject({ id: account.id, balance: initialBalance + 2_500_000 });
      expect((await ledgerOf(harness, customer.key, account.id))[0]).toMatchObject({
        kind: 'top_up',
        amount: 2_500_000,
        balance_after: initialBalance + 2_500_000,
        detail: 'invoice 42',
      });
      // Only the admin; positive integer amounts; a missing account is 404.
      expect((await call(harness, 'POST', url, { key: customer.key, body: { amount: 1 } })).status).toBe(401);
      expect((await call(harness, 'POST', url, { body: { amount: 1 } })).status).toBe(401);
      for (const amount of [0, -5, 1.5, '7']) {
        expect((await call(harness, 'POST', url, { admin: true, body: { amount } })).status, String(amount)).toBe(400);
      }
      expect((await call(harness, 'POST', `/v1.0/billing-accounts/${randomUUID()}/balance_add`, { admin: true, body: { amount: 1 } })).status).toBe(404);
      expect((await accountOf(harness, customer.key)).balance).toBe(initialBalance + 2_500_000);
    });

    it('refuses a top-up that would take the balance past what a JSON number holds exactly', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const account = await accountOf(harness, customer.key);
      const url = `/v1.0/billing-accounts/${account.id}/balance_add`;
      const room = Number.MAX_SAFE_INTEGER - initialBalance;
      // Nine of the largest top-ups fit; the tenth would pass 2^53 (and enough of them the bigint column).
      for (let count = 0; count < 9; count += 1) expect((await call(harness, 'POST', url, { admin: true, body: { amount: 1e15 } })).status).toBe(200);
      const refused = await call(harness, 'POST', url, { admin: true, body: { amount: 1e15 } });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ reason: 'VALIDATION_FAILED', message: `amount: the balance would exceed ${Number.MAX_SAFE_INTEGER} micro-units` });
      const rest = room - 9e15;
      expect((await call(harness, 'POST', url, { admin: true, body: { amount: rest } })).body.balance).toBe(Number.MAX_SAFE_INTEGER);
      expect((await call(harness, 'POST', url, { admin: true, body: { amount: 1 } })).status).toBe(400);
    });

    it('charges a usage event once, however often it is reported', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const account = await accountOf(harness, customer.key);
      // Built-in default rates: 1 per million input tokens, 4 per million output tokens.
      const usage = { id: randomUUID(), customer_id: customer.id, aicall_id: null, kind: 'llm', provider: 'test.model', input_tokens: 1000, output_tokens: 500 };
      const first = await reportUsage(harness, usage);
      expect(first).toMatchObject({ kind: 'usage', usage_id: usage.id, usage_kind: 'llm', provider: 'test.model', input_tokens: 1000, output_tokens: 500, amount: -3000, balance_after: initialBalance - 3000 });
      const again = await reportUsage(harness, usage);
      expect(again).toEqual(first);
      expect((await accountOf(harness, customer.key)).balance).toBe(initialBalance - 3000);
      const usages = (await ledgerOf(harness, customer.key, account.id)).filter((entry) => entry.kind === 'usage');
      expect(usages).toEqual([first]);

      // The other units: 200 TTS characters at 0.1 per 1000, 30 s of STT at 0.01 per minute; local engines are free.
      expect((await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'tts', provider: 'test', characters: 200 })).amount).toBe(-20_000);
      expect((await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'stt', provider: 'test', audio_seconds: 30 })).amount).toBe(-5000);
      expect((await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'tts', provider: 'local', characters: 5000 })).amount).toBe(0);
      expect((await accountOf(harness, customer.key)).balance).toBe(initialBalance - 28_000);
      // Work on an answer prepared ahead and dropped is billed the same, and marked as such.
      const dropped = await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'llm', provider: 'test.model', input_tokens: 1000, output_tokens: 500, discarded: true });
      expect(dropped).toMatchObject({ amount: -3000, detail: 'answer prepared ahead, dropped: the caller went on' });
      expect(first.detail).toBe('');
      expect((await accountOf(harness, customer.key)).balance).toBe(initialBalance - 31_000);
      await expect(reportUsage(harness, { ...usage, id: 'not-a-uuid' })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
      await expect(reportUsage(harness, { ...usage, id: randomUUID(), kind: 'video' })).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
      // The same id for another customer is refused, and charges nobody.
      const other = await createTestCustomer(harness);
      await expect(reportUsage(harness, { ...usage, customer_id: other.id })).rejects.toMatchObject({ reason: 'RESOURCE_ALREADY_EXISTS' });
      expect((await accountOf(harness, other.key)).balance).toBe(initialBalance);
    });

    it('charges once when the same usage is reported concurrently, and every distinct usage once', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const account = await accountOf(harness, customer.key);
      const usage = { id: randomUUID(), customer_id: customer.id, kind: 'llm', provider: 'test.model', input_tokens: 0, output_tokens: 1000 };
      const replies = await Promise.all(Array.from({ length: 12 }, () => reportUsage(harness, usage)));
      expect(new Set(replies.map((reply) => reply.id)).size).toBe(1);
      expect(replies[0]).toMatchObject({ amount: -4000, balance_after: initialBalance - 4000 });
      const distinct = await Promise.all(Array.from({ length: 8 }, () => reportUsage(harness, { ...usage, id: randomUUID() })));
      expect(distinct.map((reply) => reply.amount)).toEqual(Array(8).fill(-4000));
      const balance = initialBalance - 9 * 4000;
      expect((await accountOf(harness, customer.key)).balance).toBe(balance);
      // The ledger adds up: each entry's balance_after is the one before plus its amount.
      const ledger = (await ledgerOf(harness, customer.key, account.id)).reverse();
      expect(ledger.filter((entry) => entry.kind === 'usage')).toHaveLength(9);
      let running = 0;
      for (const entry of ledger) {
        running += entry.amount;
        expect(entry.balance_after).toBe(running);
      }
      expect(running).toBe(balance);
    });

    it('refuses to start a session below the minimum balance with 402 INSUFFICIENT_BALANCE', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const account = await accountOf(harness, customer.key);
      // Spend everything: 10 million input tokens at 1 per million = 10 units.
      await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'llm', provider: 'test.model', input_tokens: 10_000_000 });
      expect((await accountOf(harness, customer.key)).balance).toBe(0);
      const refused = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      expect(refused.status).toBe(402);
      expect(refused.body.error).toMatchObject({
        status: 'PAYMENT_REQUIRED',
        reason: 'INSUFFICIENT_BALANCE',
        message: 'The billing account balance (0.000000 USD) is below the 0.010000 USD needed to start a session.',
        details: { account_id: account.id, balance: 0, minimum_balance: 10_000, currency: 'USD' },
      });
      expect((await call(harness, 'GET', '/v1.0/aicalls', { key: customer.key })).body.result).toEqual([]);
      // A top-up lets it start.
      await call(harness, 'POST', `/v1.0/billing-accounts/${account.id}/balance_add`, { admin: true, body: { amount: 10_000 } });
      expect((await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } })).status).toBe(200);
    });

    it('refuses a message into a text AIcall below the minimum balance with 402, storing nothing', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: '' } });
      expect(aicall.status).toBe(200);
      await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'llm', provider: 'test.model', input_tokens: 10_000_000 });
      const refused = await call(harness, 'POST', '/v1.0/aimessages', { key: customer.key, body: { aicall_id: aicall.body.id, content: 'hello?' } });
      expect(refused.status).toBe(402);
      expect(refused.body.error.reason).toBe('INSUFFICIENT_BALANCE');
      const messages = await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicall.body.id}`, { key: customer.key });
      expect(messages.body.result.filter((message: { role: string }) => message.role === 'user')).toEqual([]);
    });

    it("ends ai_talk's session cleanly below the minimum: the flow goes on, the AIcall says why", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      await reportUsage(harness, { id: randomUUID(), customer_id: customer.id, kind: 'llm', provider: 'test.model', input_tokens: 20_000_000 });
      const started = await rpcCall<{ id: string; type: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
        customer_id: customer.id,
        assistance_id: ai.body.id,
        reference_type: 'call',
        reference_id: randomUUID(),
      });
      // Nothing to wait in: the flow continues after ai_talk.
      expect(started).toMatchObject({ type: 'aicall', push_actions: [] });
      const aicall = await call(harness, 'GET', `/v1.0/aicalls/${started.id}`, { key: customer.key });
      expect(aicall.body).toMatchObject({ status: 'terminated', cost: 0 });
      const messages = await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${started.id}`, { key: customer.key });
      expect(messages.body.result.map((message: { role: string; content: string }) => [message.role, message.content])).toEqual([
        ['notification', expect.stringMatching(/^The session could not start: The billing account balance \(-10\.000000 USD\) is below/)],
      ]);
    });

    it("shows an AIcall's cost so far: the sum of its usage charges", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      // Record-only AIcalls (initiating): their usage is reported over the bus, as a pipeline does.
      const recordOnly = { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: 'conversation' };
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { ...recordOnly, reference_id: randomUUID() } });
      const otherSession = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { ...recordOnly, reference_id: randomUUID() } });
      const get0 = await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key: customer.key });
      expect(get0.body).toEqual({ ...aicall.body, cost: 0 });
      const base = { customer_id: customer.id, aicall_id: aicall.body.id };
      await reportUsage(harness, { ...base, id: randomUUID(), kind: 'llm', provider: 'test.model', input_tokens: 2000, output_tokens: 100 });
      await reportUsage(harness, { ...base, id: randomUUID(), kind: 'tts', provider: 'test', characters: 10 });
      // Another session's usage is not this one's cost.
      await reportUsage(harness, { ...base, aicall_id: otherSession.body.id, id: randomUUID(), kind: 'tts', provider: 'test', characters: 10 });
      const after = await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key: customer.key });
      expect(after.body.cost).toBe(2000 + 400 + 1000);
      expect(after.body.status).toBe('initiating');
    });

    it('ends a live session whose usage leaves the balance below the cutoff', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      // A record-only AIcall (initiating, no messages): its usage is reported over the bus, as a pipeline does.
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', {
        key: customer.key,
        body: { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: 'conversation', reference_id: randomUUID() },
      });
      const base = { customer_id: customer.id, aicall_id: aicall.body.id, kind: 'llm', provider: 'test.model' };
      // Still above zero: the session goes on.
      await reportUsage(harness, { ...base, id: randomUUID(), input_tokens: 9_000_000 });
      expect((await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key: customer.key })).body.status).toBe('initiating');
      // Below zero: the session ends (no pipeline runs it here, so ai-manager ends it itself).
      const last = await reportUsage(harness, { ...base, id: randomUUID(), input_tokens: 2_000_000 });
      expect(last.balance_after).toBe(-1_000_000);
      const ended = await eventually(async () => {
        const read = await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key: customer.key });
        return read.body.status === 'terminated' ? read.body : undefined;
      });
      expect(ended).toMatchObject({ cost: 11_000_000, tm_end: expect.any(String) });
      const messages = await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicall.body.id}`, { key: customer.key });
      expect(messages.body.result.map((message: { role: string }) => message.role)).toEqual(['notification']);
      expect(messages.body.result[0].content).toContain('balance ran out');
    });
  });
}
