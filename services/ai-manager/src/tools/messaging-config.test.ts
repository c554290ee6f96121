import { ConfigError, loadConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiManagerOptionsFromSettings, aiManagerSettingsSchema } from '../config.ts';

const settings = (environment: Record<string, string>) => loadConfig('ai-manager', aiManagerSettingsSchema, environment);

describe('messaging settings (send_email, send_message)', () => {
  it('leaves both tools off by default', () => {
    const options = aiManagerOptionsFromSettings(settings({}));
    expect(options.email).toBeUndefined();
    expect(options.sms).toBeUndefined();
  });

  it('turns e-mail on with SMTP_URL and SMTP_FROM', () => {
    const options = aiManagerOptionsFromSettings(
      settings({ SMTP_URL: 'smtps://user:p%40ss@mail.example:465', SMTP_FROM: 'Acme AI <ai@acme.example>', SMTP_TIMEOUT_MS: '5000' }),
    );
    expect(options.email).toEqual({ url: 'smtps://user:p%40ss@mail.example:465', from: 'Acme AI <ai@acme.example>', timeoutMs: 5000 });
  });

  it('turns SMS on with the account, the token and the sender; Twilio by default', () => {
    const options = aiManagerOptionsFromSettings(settings({ SMS_ACCOUNT_SID: 'AC1', SMS_AUTH_TOKEN: 'secret', SMS_FROM: '+15550001111' }));
    expect(options.sms).toEqual({ apiUrl: 'https://api.twilio.com', accountSid: 'AC1', authToken: 'secret', from: '+15550001111', timeoutMs: 10_000 });
  });

  it('rejects URLs that are not SMTP or HTTP', () => {
    expect(() => settings({ SMTP_URL: 'http://mail.example' })).toThrow(/SMTP_URL: must be smtp:\/\//);
    expect(() => settings({ SMTP_URL: 'not a url' })).toThrow(ConfigError);
    expect(() => settings({ SMS_API_URL: 'ftp://sms.example' })).toThrow(/SMS_API_URL/);
  });

  it('refuses half a configuration, naming what is missing', () => {
    expect(() => aiManagerOptionsFromSettings(settings({ SMTP_URL: 'smtp://mail.example' }))).toThrow(/SMTP_FROM: required when SMTP_URL is set/);
    let problems: string[] = [];
    try {
      aiManagerOptionsFromSettings(settings({ SMS_ACCOUNT_SID: 'AC1' }));
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'SMS_AUTH_TOKEN: required with the other SMS_ settings (unset)',
      'SMS_FROM: required with the other SMS_ settings (unset)',
    ]);
  });
});
