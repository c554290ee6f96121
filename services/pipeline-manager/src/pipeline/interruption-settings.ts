import { defaultInterruptionConfig, type InterruptionConfig } from '@avp/shared';

/** The interruption settings in force (the AI's `turn_config.interruption` over the defaults). */
export interface InterruptionSettings {
  minMs: number;
  minWords: number;
  backchannelWords: readonly string[];
  /** Caller sound more than this much quieter than the bot (as a factor of its RMS) is its echo; 0 = off. */
  echoFactor: number;
  falseInterruptionMs: number;
}

export function interruptionSettings(config: InterruptionConfig | undefined, legacyMinMs?: number): InterruptionSettings {
  const merged = { ...defaultInterruptionConfig, ...config };
  return {
    minMs: config?.min_secs !== undefined ? config.min_secs * 1000 : (legacyMinMs ?? merged.min_secs * 1000),
    minWords: merged.min_words,
    backchannelWords: merged.backchannel_words,
    echoFactor: merged.echo_margin_db > 0 ? 10 ** (-merged.echo_margin_db / 20) : 0,
    falseInterruptionMs: merged.false_interruption_secs * 1000,
  };
}
