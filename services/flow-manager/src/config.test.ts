import { ConfigError, loadConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { flowManagerOptionsFromSettings, flowManagerSettingsSchema } from './config.ts';

describe('flow-manager limits from the environment', () => {
  it('reads the per-key rate limit and the outbound allow list, with ai-manager\'s defaults', async () => {
    const defaults = flowManagerOptionsFromSettings(loadConfig('flow-manager', flowManagerSettingsSchema, {}));
    expect(defaults.rateLimit).toEqual({ perSecond: 20, burst: 100, authFailuresPerMinute: 30 });
    await expect(defaults.outbound!.checkUrl('http://127.0.0.1/a.wav')).rejects.toThrow('is loopback');
    const set = flowManagerOptionsFromSettings(
      loadConfig('flow-manager', flowManagerSettingsSchema, { RATE_LIMIT_PER_SECOND: '0', RATE_LIMIT_BURST: '5', AUTH_FAILURES_PER_MINUTE: '12', OUTBOUND_ALLOWED_HOSTS: '127.0.0.1, 10.0.0.0/8' }),
    );
    expect(set.rateLimit).toEqual({ perSecond: 0, burst: 5, authFailuresPerMinute: 12 });
    await expect(set.outbound!.checkUrl('http://10.9.8.7/a.wav')).resolves.toBeDefined();
  });

  it('stops on a bad value, naming the variable', () => {
    const bad = () => loadConfig('flow-manager', flowManagerSettingsSchema, { RATE_LIMIT_PER_SECOND: '-1', OUTBOUND_ALLOWED_HOSTS: '10.0.0.0/40' });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (error) {
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('RATE_LIMIT_PER_SECOND:');
      expect(problems).toContain('OUTBOUND_ALLOWED_HOSTS: "10.0.0.0/40" is not a host name, an IP address or a CIDR range');
    }
  });
});
