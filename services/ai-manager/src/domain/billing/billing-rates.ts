import { microUnitsPerUnit, type BillingUsage } from '@avp/shared';
import { z } from 'zod';

/**
 * Prices of one provider, in units of the billing currency (USD by default):
 * - `llm_input_per_1m_tokens` / `llm_output_per_1m_tokens`: per million LLM tokens,
 * - `tts_per_1k_characters`: per thousand characters spoken,
 * - `stt_per_minute`: per minute of audio transcribed.
 */
export const billingRateFields = ['llm_input_per_1m_tokens', 'llm_output_per_1m_tokens', 'tts_per_1k_characters', 'stt_per_minute'] as const;
export type BillingRateField = (typeof billingRateFields)[number];
/**
 * `external_media_per_minute`: per minute of an external media stream (flow-manager's calls
 * relayed to a customer's own engine, provider `external_media.<format>`); 0 unless configured.
 */
export type BillingRate = Record<BillingRateField, number> & { external_media_per_minute?: number };

/** Rates by provider name; `default` prices whatever no other entry names. */
export type BillingRates = Record<string, Partial<BillingRate>> & { default: BillingRate };

const price = z.number().min(0).max(1_000_000);

/** `BILLING_RATES`: `{"<provider>": {<field>: <units>}, "default": {...}}`, each field optional. */
export const billingRateOverridesSchema = z.record(
  z.string().min(1),
  z.strictObject({
    llm_input_per_1m_tokens: price.optional(),
    llm_output_per_1m_tokens: price.optional(),
    tts_per_1k_characters: price.optional(),
    stt_per_minute: price.optional(),
    external_media_per_minute: price.optional(),
  }),
);
export type BillingRateOverrides = z.infer<typeof billingRateOverridesSchema>;

/**
 * The built-in rates: rough public list prices (USD) of the engines, to be replaced by an
 * operator's own through `BILLING_RATES`. The offline engines (`local` TTS, `local.scripted`)
 * cost nothing: no vendor is paid.
 */
export const defaultBillingRates: BillingRates = {
  default: { llm_input_per_1m_tokens: 1, llm_output_per_1m_tokens: 4, tts_per_1k_characters: 0.1, stt_per_minute: 0.01 },
  local: { llm_input_per_1m_tokens: 0, llm_output_per_1m_tokens: 0, tts_per_1k_characters: 0, stt_per_minute: 0 },
  openai: { llm_input_per_1m_tokens: 2.5, llm_output_per_1m_tokens: 10, tts_per_1k_characters: 0.015 },
  'openai.gpt-4o-mini': { llm_input_per_1m_tokens: 0.15, llm_output_per_1m_tokens: 0.6 },
  anthropic: { llm_input_per_1m_tokens: 3, llm_output_per_1m_tokens: 15 },
  elevenlabs: { tts_per_1k_characters: 0.18, stt_per_minute: 0.0067 },
  deepgram: { tts_per_1k_characters: 0.03, stt_per_minute: 0.0077 },
};

/** The defaults with `overrides` merged in field by field (an override names only what changes). */
export function mergeBillingRates(overrides: BillingRateOverrides = {}, base: BillingRates = defaultBillingRates): BillingRates {
  const merged: Record<string, Partial<BillingRate>> = {};
  for (const [provider, rate] of Object.entries(base)) merged[provider] = { ...rate };
  for (const [provider, rate] of Object.entries(overrides)) merged[provider] = { ...merged[provider], ...rate };
  return merged as BillingRates;
}

/**
 * The rate of one field for a provider: the exact name (`openai.gpt-4o-mini`), then its
 * family before the first dot (`openai`), then `default`.
 */
export function rateFor(rates: BillingRates, provider: string, field: BillingRateField): number {
  const family = provider.split('.')[0] ?? provider;
  return rates[provider]?.[field] ?? rates[family]?.[field] ?? rates.default[field];
}

/**
 * What a usage event costs, in whole micro-units (rounded up, so no use is free unless its
 * rate is 0). Every quantity the event carries is priced, whatever its kind.
 */
export function priceUsage(rates: BillingRates, usage: Pick<BillingUsage, 'provider' | 'input_tokens' | 'output_tokens' | 'characters' | 'audio_seconds'> & { kind?: BillingUsage['kind'] }): number {
  const perUnit = microUnitsPerUnit;
  // A stream's minutes have a rate of their own (0 unless configured), not the STT rate.
  if (usage.kind === 'external_media') return Math.ceil(Math.round((usage.audio_seconds ?? 0) * externalMediaRateFor(rates, usage.provider) * (perUnit / 60) * 1000) / 1000);
  const micro =
    (usage.input_tokens ?? 0) * rateFor(rates, usage.provider, 'llm_input_per_1m_tokens') * (perUnit / 1_000_000) +
    (usage.output_tokens ?? 0) * rateFor(rates, usage.provider, 'llm_output_per_1m_tokens') * (perUnit / 1_000_000) +
    (usage.characters ?? 0) * rateFor(rates, usage.provider, 'tts_per_1k_characters') * (perUnit / 1000) +
    (usage.audio_seconds ?? 0) * rateFor(rates, usage.provider, 'stt_per_minute') * (perUnit / 60);
  // Snap float noise (0.1 * 3) to a thousandth of a micro-unit before rounding up.
  return Math.ceil(Math.round(micro * 1000) / 1000);
}

/** The per-minute rate of an external media stream: the provider, its family, `default`, else 0. */
export function externalMediaRateFor(rates: BillingRates, provider: string): number {
  const family = provider.split('.')[0] ?? provider;
  return rates[provider]?.external_media_per_minute ?? rates[family]?.external_media_per_minute ?? rates.default.external_media_per_minute ?? 0;
}

/** Units (as configured, e.g. `10` or `0.01`) to micro-units. */
export function toMicroUnits(units: number): number {
  return Math.round(units * microUnitsPerUnit);
}

/** Micro-units as a decimal amount of units, for messages (`-0.004200`). */
export function formatUnits(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const absolute = Math.abs(micro);
  return `${sign}${Math.floor(absolute / microUnitsPerUnit)}.${String(absolute % microUnitsPerUnit).padStart(6, '0')}`;
}
