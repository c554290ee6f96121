import { z } from 'zod';
import { aicallSchema } from './aicall.ts';

/**
 * Billing (ai-manager): one account per customer, a balance and a ledger. Every amount is an
 * integer number of micro-units: 1 unit (of `currency`) = 1,000,000 micro-units, so
 * `balance: 10000000` is 10.00 USD. Charges are negative ledger amounts.
 */

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** Micro-units per unit of currency. */
export const microUnitsPerUnit = 1_000_000;

/** An integer amount of micro-units (safe integer range). */
const microUnits = z
  .number()
  .int()
  .min(-Number.MAX_SAFE_INTEGER)
  .max(Number.MAX_SAFE_INTEGER)
  .meta({ description: 'Micro-units: 1 unit of currency = 1,000,000.' });

/** A customer's billing account. */
export const billingAccountSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  name: z.string(),
  /** The balance in micro-units (may go below zero by the last charge of a session). */
  balance: microUnits,
  currency: z.string(),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type BillingAccount = z.infer<typeof billingAccountSchema>;

/** What a ledger entry records: the starting balance, a usage charge, an admin top-up. */
export const billingLedgerKinds = ['initial', 'usage', 'top_up'] as const;
export type BillingLedgerKind = (typeof billingLedgerKinds)[number];

/** What a usage event measured (`external_media`: the minutes of an external media stream, in `audio_seconds`). */
export const billingUsageKinds = ['llm', 'stt', 'tts', 'external_media'] as const;
export type BillingUsageKind = (typeof billingUsageKinds)[number];

/** One change of a balance. */
export const billingLedgerEntrySchema = z.object({
  id: z.uuid(),
  account_id: z.uuid(),
  customer_id: z.uuid(),
  kind: z.enum(billingLedgerKinds),
  /** The usage event's id (kind `usage`): one entry per usage event. */
  usage_id: z.uuid().nullable(),
  aicall_id: z.uuid().nullable(),
  /** `llm`, `stt`, `tts` or `external_media` for a usage; empty otherwise. */
  usage_kind: z.enum([...billingUsageKinds, '']),
  /** The engine that was used (`openai.gpt-4o-mini`, `deepgram`, `local`); empty otherwise. */
  provider: z.string(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  characters: z.number().nullable(),
  audio_seconds: z.number().nullable(),
  /** Micro-units; negative for a charge. */
  amount: microUnits,
  /** The balance right after this entry, in micro-units. */
  balance_after: microUnits,
  detail: z.string(),
  tm_create: timestamp,
});
export type BillingLedgerEntry = z.infer<typeof billingLedgerEntrySchema>;

/** A usage event from the pipeline (`POST /v1/usages` on ai-manager's bus routes). */
export const billingUsageSchema = z.object({
  /** Made once per usage event by its reporter: a replay with the same id charges once. */
  id: z.uuid(),
  customer_id: z.uuid(),
  aicall_id: z.uuid().nullable().optional(),
  kind: z.enum(billingUsageKinds),
  provider: z.string().max(200),
  input_tokens: z.number().min(0).max(1e12).optional(),
  output_tokens: z.number().min(0).max(1e12).optional(),
  characters: z.number().min(0).max(1e12).optional(),
  audio_seconds: z.number().min(0).max(1e9).optional(),
  /**
   * Spent on an answer prepared ahead of the end of the caller's turn and dropped because the
   * caller went on: billed like any usage, and marked in its ledger entry's `detail`.
   */
  discarded: z.boolean().optional(),
});
export type BillingUsage = z.infer<typeof billingUsageSchema>;

/** `POST /v1.0/billing-accounts/{id}/balance_add` (admin). */
export const billingBalanceAddSchema = z.strictObject({
  /** Micro-units to add; positive. */
  amount: z.number().int().min(1).max(1e15),
  detail: z.string().max(1000).default(''),
});
export type BillingBalanceAdd = z.infer<typeof billingBalanceAddSchema>;

/**
 * `GET /v1.0/aicalls/{id}`: the AIcall with what its session has cost so far, in micro-units
 * (the sum of its usage charges, as a positive number).
 */
export const aicallWithCostSchema = aicallSchema.extend({
  cost: microUnits.meta({ description: 'What the session has cost so far, in micro-units (1 unit = 1,000,000).' }),
});
export type AicallWithCost = z.infer<typeof aicallWithCostSchema>;
