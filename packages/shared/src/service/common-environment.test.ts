import { describe, expect, it } from 'vitest';
import { commonEnvironmentSchema } from './common-environment.ts';

const parse = (variables: Record<string, string>) => commonEnvironmentSchema.safeParse(variables);

describe('commonEnvironmentSchema: TRUST_PROXY', () => {
  it('is nobody when unset or empty, else a list of addresses, ranges and range names', () => {
    expect(parse({}).data?.TRUST_PROXY).toBeUndefined();
    expect(parse({ TRUST_PROXY: ' ' }).data?.TRUST_PROXY).toBeUndefined();
    expect(parse({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,loopback, fd00::/8,::1' }).data?.TRUST_PROXY).toEqual(['10.0.0.0/8', '127.0.0.1', 'loopback', 'fd00::/8', '::1']);
  });

  it.each(['true', '1', '*', 'proxy.example.com', '10.0.0.0/33', 'fd00::/129', '10.0.0.1/8/2', '10.0.0.0/x', ','])('refuses "%s" with a message naming it', (value) => {
    const result = parse({ TRUST_PROXY: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['TRUST_PROXY']);
    expect(result.error?.issues[0]?.message).toMatch(/expected proxy addresses or CIDR ranges/);
  });
});
