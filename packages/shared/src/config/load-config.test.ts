import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, env, loadConfig } from './load-config.ts';

const schema = z.object({
  PORT: env.port(8080),
  DATABASE_URL: z.url().optional(),
  ADMIN_TOKEN: z.string().min(16),
  VERBOSE: env.boolean(false),
});

describe('loadConfig', () => {
  it('applies defaults and coerces values', () => {
    const config = loadConfig('test', schema, { ADMIN_TOKEN: 'a'.repeat(16), PORT: '9000', VERBOSE: 'yes' });
    expect(config).toEqual({ PORT: 9000, ADMIN_TOKEN: 'a'.repeat(16), VERBOSE: true });
  });

  it('treats an empty value as unset', () => {
    const config = loadConfig('test', schema, { ADMIN_TOKEN: 'a'.repeat(16), PORT: '', DATABASE_URL: '' });
    expect(config.PORT).toBe(8080);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('names every bad variable in one error', () => {
    let caught: unknown;
    try {
      loadConfig('ai-manager', schema, { PORT: '70000', DATABASE_URL: 'not a url' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.find((problem) => problem.startsWith('PORT:'))).toContain('"70000"');
    expect(problems.find((problem) => problem.startsWith('DATABASE_URL:'))).toBeDefined();
    expect(problems.find((problem) => problem.startsWith('ADMIN_TOKEN:'))).toContain('unset');
    expect((caught as ConfigError).message).toMatch(/^ai-manager: invalid configuration/);
  });

  it('never prints the value of a secret', () => {
    expect(() => loadConfig('test', schema, { ADMIN_TOKEN: 'short-secret' })).toThrow(/<redacted>/);
    expect(() => loadConfig('test', schema, { ADMIN_TOKEN: 'short-secret' })).not.toThrow(/short-secret/);
  });
});

describe('loadConfig with a URL holding a password', () => {
  it('hides the password of a bad URL value but shows the rest', () => {
    const urlSchema = z.object({ MAIL_URL: z.url().refine((value) => value.startsWith('smtp://'), 'must be smtp://') });
    let caught: unknown;
    try {
      loadConfig('test', urlSchema, { MAIL_URL: 'smtps://mailer:hunter2@mail.example.com:465' });
    } catch (error) {
      caught = error;
    }
    const message = (caught as ConfigError).message;
    expect(message).toContain('smtps://mailer:<redacted>@mail.example.com:465');
    expect(message).not.toContain('hunter2');
  });
});
