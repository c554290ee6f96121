import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BillingLedgerEntry } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, onTestFinished } from 'vitest';
import { throughOutages, type StoredMessage } from './calls.ts';
import type { Client, Cluster } from './cluster.ts';

/** One webhook POST as the customer's receiver got it. */
export interface Delivery {
  /** `X-…-Event-Id`: the same for a delivery sent again after a crash. */
  eventId: string;
  type: string;
  seq: number;
  data: Record<string, unknown>;
}

/** A customer's webhook endpoint on 127.0.0.1, keeping every delivery in arrival order. */
export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; seq: number; type: string; data: Record<string, unknown> };
        deliveries.push({ eventId: body.id, type: body.type, seq: body.seq, data: body.data });
      } catch {
        // Not ours to judge here: the record checks count what arrived.
      }
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A customer of the fault tests, its webhooks going to a receiver of the test (ai-manager is
 * allowed to reach 127.0.0.1 in these clusters).
 */
export async function customerWithWebhooks(cluster: Cluster, name: string): Promise<{ client: Client; webhooks: WebhookReceiver }> {
  const client = await cluster.newCustomer(name);
  const webhooks = await startWebhookReceiver();
  onTestFinished(() => webhooks.close());
  await client.api('PUT', '/v1.0/customer', { webhook_uri: webhooks.url });
  return { client, webhooks };
}

/** ai-manager may deliver webhooks to the tests' receivers on 127.0.0.1. */
export const webhooksToLoopback = { 'ai-manager': { OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' } };

/** The AIcall's status events, each once, in the order a call's session goes through them. */
const statusOrder = ['aicall_status_initiating', 'aicall_status_progressing', 'aicall_status_terminating', 'aicall_status_terminated'];

/**
 * Checks the webhooks of one AIcall against its stored record: each event once (a delivery
 * sent again after a crash carries the same event id and counts once), the AIcall's status
 * events in the session's order ending with `terminated`, every stored message announced by one
 * `aimessage_created` in the stored order, and the customer's sequence numbers rising in the
 * order the events of this AIcall arrived.
 */
export async function expectWebhooksOnceInOrder(receiver: WebhookReceiver, aicallId: string, stored: StoredMessage[]): Promise<void> {
  const ofCall = () => receiver.deliveries.filter((delivery) => delivery.data.id === aicallId || delivery.data.aicall_id === aicallId);
  await eventually(
    () => ofCall().some((delivery) => delivery.type === 'aicall_status_terminated') && ofCall().filter((delivery) => delivery.type === 'aimessage_created').length >= stored.length,
    'the AIcall\'s webhooks up to "terminated"',
    60_000,
    100,
  );
  const seen = new Map<string, Delivery>();
  for (const delivery of ofCall()) {
    const first = seen.get(delivery.eventId);
    if (first) {
      // Sent again: the very same event (same type, number and data), not a second one.
      expect({ type: delivery.type, seq: delivery.seq, data: delivery.data }, `event ${delivery.eventId} delivered again with other content`).toEqual({ type: first.type, seq: first.seq, data: first.data });
    } else seen.set(delivery.eventId, delivery);
  }
  const events = [...seen.values()];
  const statuses = events.filter((event) => event.type.startsWith('aicall_status_')).map((event) => event.type);
  expect(statuses, 'the AIcall status webhooks, once each and in order').toEqual(statusOrder.filter((type) => statuses.includes(type)));
  expect(statuses.slice(-2), 'the AIcall status webhooks end with terminating, terminated').toEqual(['aicall_status_terminating', 'aicall_status_terminated']);
  expect(statuses, 'the AIcall was announced progressing').toContain('aicall_status_progressing');
  const created = events.filter((event) => event.type === 'aimessage_created' && event.data.role !== 'system').map((event) => event.data.id);
  expect(created, 'one aimessage_created per stored message, in the stored order').toEqual(stored.map((message) => message.id));
  const numbers = events.map((event) => event.seq);
  expect(numbers, "the customer's sequence numbers of this AIcall's events, rising as they arrived").toEqual([...numbers].sort((a, b) => a - b));
  expect(new Set(numbers).size, 'no sequence number twice').toBe(numbers.length);
}

type LedgerEntry = BillingLedgerEntry;

async function ledgerOf(client: Client): Promise<{ balance: number; entries: LedgerEntry[] }> {
  const accounts = await client.api<{ result: { id: string; balance: number }[] }>('GET', '/v1.0/billing-accounts');
  const account = accounts.result[0]!;
  const entries: LedgerEntry[] = [];
  let token = '';
  do {
    const page = await client.api<{ result: LedgerEntry[]; next_page_token: string }>(
      'GET',
      `/v1.0/billing-accounts/${account.id}/ledger?page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`,
    );
    entries.push(...page.result);
    token = page.next_page_token;
  } while (token);
  const again = await client.api<{ balance: number }>('GET', `/v1.0/billing-accounts/${account.id}`);
  return { balance: again.balance, entries };
}

/**
 * Checks the customer's ledger for one AIcall: one `llm` entry per request the LLM served for
 * it (the fake LLM reports 10 input and 5 output tokens each; `undefined` where a process that
 * held a usage report was killed -9, whose buffer is in memory), speech recognised and speech
 * synthesised were charged, no usage was charged twice, and the account's balance is the sum of
 * its entries (nothing charged off the ledger, no entry lost).
 */
export async function expectLedgerComplete(client: Client, aicallId: string, llmRequests: number | undefined): Promise<void> {
  // Usage reports ride out outages from a buffer, and speech recognition's is reported as the
  // session ends: wait for them to be in.
  let ledger = await ledgerOf(client);
  await eventually(
    throughOutages(async () => {
      ledger = await ledgerOf(client);
      const ofCall = ledger.entries.filter((entry) => entry.aicall_id === aicallId);
      return ofCall.filter((entry) => entry.usage_kind === 'llm').length >= (llmRequests ?? 1) && ['tts', 'stt'].every((kind) => ofCall.some((entry) => entry.usage_kind === kind));
    }),
    'the usage of the AIcall in the ledger',
    60_000,
    250,
  );
  const ofCall = ledger.entries.filter((entry) => entry.aicall_id === aicallId);
  const llm = ofCall.filter((entry) => entry.usage_kind === 'llm');
  if (llmRequests !== undefined) {
    expect(
      llm.map((entry) => [entry.input_tokens, entry.output_tokens]),
      'one LLM ledger entry per LLM request of the AIcall',
    ).toEqual(Array.from({ length: llmRequests }, () => [10, 5]));
  }
  expect(ofCall.filter((entry) => entry.usage_kind === 'tts').reduce((sum, entry) => sum + (entry.characters ?? 0), 0), 'speech synthesised was charged').toBeGreaterThan(0);
  expect(ofCall.filter((entry) => entry.usage_kind === 'stt').reduce((sum, entry) => sum + (entry.audio_seconds ?? 0), 0), 'speech recognised was charged').toBeGreaterThan(0);
  const usageIds = ledger.entries.flatMap((entry) => (entry.usage_id ? [entry.usage_id] : []));
  expect(new Set(usageIds).size, 'no usage charged twice').toBe(usageIds.length);
  expect(
    ledger.entries.reduce((sum, entry) => sum + entry.amount, 0),
    "the account's balance is the sum of its ledger entries",
  ).toBe(ledger.balance);
}
