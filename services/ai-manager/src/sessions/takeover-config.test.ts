import { ConfigError, loadConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiManagerOptionsFromSettings, aiManagerSettingsSchema } from '../config.ts';

const settings = (environment: Record<string, string>) => loadConfig('ai-manager', aiManagerSettingsSchema, environment);

describe('crash resumption settings (PIPELINE_TAKEOVER_AFTER_MS, PIPELINE_RESUME_APOLOGY)', () => {
  it('takes over after 1 s of missing heartbeats with the default apology by default', () => {
    expect(aiManagerOptionsFromSettings(settings({})).pipelineTakeover).toEqual({ silentAfterMs: 1000 });
  });

  it('reads both, and 0 turns the fast path off', () => {
    expect(aiManagerOptionsFromSettings(settings({ PIPELINE_TAKEOVER_AFTER_MS: '1500', PIPELINE_RESUME_APOLOGY: ' Sorry, say that again? ' })).pipelineTakeover).toEqual({
      silentAfterMs: 1500,
      apology: 'Sorry, say that again?',
    });
    expect(aiManagerOptionsFromSettings(settings({ PIPELINE_TAKEOVER_AFTER_MS: '0' })).pipelineTakeover).toEqual({ tickMs: 0 });
  });

  it('refuses values out of range, naming the variable', () => {
    expect(() => settings({ PIPELINE_TAKEOVER_AFTER_MS: '-1' })).toThrow(/PIPELINE_TAKEOVER_AFTER_MS/);
    expect(() => settings({ PIPELINE_TAKEOVER_AFTER_MS: '60001' })).toThrow(ConfigError);
    expect(() => settings({ PIPELINE_RESUME_APOLOGY: 'x'.repeat(501) })).toThrow(/PIPELINE_RESUME_APOLOGY/);
  });
});
