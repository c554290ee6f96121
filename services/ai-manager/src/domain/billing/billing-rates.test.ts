import { describe, expect, it } from 'vitest';
import { aiManagerOptionsFromSettings, aiManagerSettingsSchema } from '../../config.ts';
import { defaultBillingRates, formatUnits, mergeBillingRates, priceUsage, rateFor, toMicroUnits } from './billing-rates.ts';

describe('billing rates', () => {
  it('looks a rate up by exact provider, then its family, then default', () => {
    expect(rateFor(defaultBillingRates, 'openai.gpt-4o-mini', 'llm_input_per_1m_tokens')).toBe(0.15);
    expect(rateFor(defaultBillingRates, 'openai.gpt-4o', 'llm_input_per_1m_tokens')).toBe(2.5);
    // openai.gpt-4o-mini names no TTS rate: the family's applies.
    expect(rateFor(defaultBillingRates, 'openai.gpt-4o-mini', 'tts_per_1k_characters')).toBe(0.015);
    expect(rateFor(defaultBillingRates, 'mistral.large', 'llm_output_per_1m_tokens')).toBe(4);
    expect(rateFor(defaultBillingRates, 'local.scripted', 'llm_output_per_1m_tokens')).toBe(0);
    expect(rateFor(defaultBillingRates, 'local', 'tts_per_1k_characters')).toBe(0);
  });

  it('prices external media stream minutes at their own rate, 0 unless configured', () => {
    expect(priceUsage(defaultBillingRates, { kind: 'external_media', provider: 'external_media.twilio', audio_seconds: 90 })).toBe(0);
    const rates = mergeBillingRates({ default: { external_media_per_minute: 0.004 }, 'external_media.asterisk': { external_media_per_minute: 0.002 } });
    // 90 s at 0.004 per minute = 0.006 units; the asterisk format's own rate is half that.
    expect(priceUsage(rates, { kind: 'external_media', provider: 'external_media.twilio', audio_seconds: 90 })).toBe(6000);
    expect(priceUsage(rates, { kind: 'external_media', provider: 'external_media.asterisk', audio_seconds: 90 })).toBe(3000);
    // Not the STT rate, whatever the provider's other rates.
    expect(priceUsage(mergeBillingRates({ default: { stt_per_minute: 5 } }), { kind: 'external_media', provider: 'external_media.twilio', audio_seconds: 60 })).toBe(0);
  });

  it('prices every quantity in whole micro-units, rounded up', () => {
    // 1000 in at 1/M + 500 out at 4/M = 1000 + 2000 micro.
    expect(priceUsage(defaultBillingRates, { provider: 'x.y', input_tokens: 1000, output_tokens: 500 })).toBe(3000);
    // 200 characters at 0.1 per 1000 = 0.02 units; 30 s at 0.01 per minute = 0.005 units.
    expect(priceUsage(defaultBillingRates, { provider: 'x', characters: 200 })).toBe(20_000);
    expect(priceUsage(defaultBillingRates, { provider: 'x', audio_seconds: 30 })).toBe(5000);
    // A third of a micro-unit is charged as one; float noise is not.
    expect(priceUsage(defaultBillingRates, { provider: 'x', audio_seconds: 0.002 })).toBe(1);
    expect(priceUsage(mergeBillingRates({ x: { llm_input_per_1m_tokens: 0.1 } }), { provider: 'x', input_tokens: 3 })).toBe(1);
    expect(priceUsage(mergeBillingRates({ x: { llm_input_per_1m_tokens: 0.1 } }), { provider: 'x', input_tokens: 30 })).toBe(3);
    expect(priceUsage(defaultBillingRates, { provider: 'local', characters: 10_000 })).toBe(0);
    expect(priceUsage(defaultBillingRates, { provider: 'x' })).toBe(0);
  });

  it('merges overrides field by field over the defaults', () => {
    const rates = mergeBillingRates({ openai: { llm_input_per_1m_tokens: 3 }, default: { stt_per_minute: 0.02 }, acme: { tts_per_1k_characters: 0.5 } });
    expect(rates.openai).toEqual({ ...defaultBillingRates.openai, llm_input_per_1m_tokens: 3 });
    expect(rates.default).toEqual({ ...defaultBillingRates.default, stt_per_minute: 0.02 });
    expect(rateFor(rates, 'acme', 'tts_per_1k_characters')).toBe(0.5);
    expect(defaultBillingRates.openai!.llm_input_per_1m_tokens).toBe(2.5);
  });

  it('converts and formats units', () => {
    expect(toMicroUnits(10)).toBe(10_000_000);
    expect(toMicroUnits(0.01)).toBe(10_000);
    expect(formatUnits(10_000)).toBe('0.010000');
    expect(formatUnits(-12_345_678)).toBe('-12.345678');
  });

  it('reads the BILLING_ variables in units', () => {
    const settings = aiManagerSettingsSchema.parse({
      BILLING_INITIAL_BALANCE: '2.5',
      BILLING_MINIMUM_BALANCE: '0.5',
      BILLING_CUTOFF_BALANCE: '-1',
      BILLING_RATES: '{"openai": {"llm_output_per_1m_tokens": 12}}',
    });
    const { billing } = aiManagerOptionsFromSettings(settings);
    expect(billing).toMatchObject({ initialBalance: 2_500_000, minimumBalance: 500_000, cutoffBalance: -1_000_000, currency: 'USD' });
    expect(billing!.rates!.openai).toMatchObject({ llm_input_per_1m_tokens: 2.5, llm_output_per_1m_tokens: 12 });
    const defaults = aiManagerOptionsFromSettings(aiManagerSettingsSchema.parse({})).billing;
    expect(defaults).toMatchObject({ initialBalance: 10_000_000, minimumBalance: 10_000, cutoffBalance: 0, rates: defaultBillingRates });
    const streams = aiManagerOptionsFromSettings(aiManagerSettingsSchema.parse({ BILLING_RATES: '{"default": {"external_media_per_minute": 0.004}}' })).billing!.rates!;
    expect(priceUsage(streams, { kind: 'external_media', provider: 'external_media.twilio', audio_seconds: 60 })).toBe(4000);
    for (const bad of ['{nope', '[]', '{"openai": {"llm_input_per_1m_tokens": -1}}', '{"openai": {"per_call": 1}}']) {
      expect(aiManagerSettingsSchema.safeParse({ BILLING_RATES: bad }).success, bad).toBe(false);
    }
  });
});
