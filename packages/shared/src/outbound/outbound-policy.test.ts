import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors/app-error.ts';
import { parseIp, specialRangeOf } from './ip-ranges.ts';
import { HostUnresolvedError, OutboundPolicy, OutboundRefusedError, parseOutboundAllowList, type HostResolver } from './outbound-policy.ts';

/** A resolver answering from a table (no DNS on the test machine), like dns.lookup(all). */
function resolver(table: Record<string, string[]>): HostResolver {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

const dns = resolver({
  'hooks.example.com': ['93.184.216.34'],
  localhost: ['127.0.0.1', '::1'],
  'metadata.nip.example': ['169.254.169.254'],
  'mixed.example.com': ['93.184.216.34', '10.0.0.7'],
  'v6.example.com': ['2606:4700::6810:84e5'],
});

async function refusal(policy: OutboundPolicy, url: string): Promise<string> {
  const error = await policy.checkUrl(url).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof OutboundRefusedError) && !(error instanceof HostUnresolvedError)) throw new Error(`${url} was not refused`);
  return error.message;
}

describe('addresses a customer URL may not reach', () => {
  it('classifies every internal IPv4 and IPv6 range, and public addresses as public', () => {
    const internal: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '10.0.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local (cloud metadata)',
      '100.64.0.1': 'carrier-grade NAT',
      '224.0.0.1': 'multicast',
      '0.0.0.0': 'unspecified',
      '255.255.255.255': 'broadcast',
      '198.18.0.1': 'reserved',
      '::1': 'loopback',
      '::': 'unspecified',
      'fe80::1': 'link-local',
      'fd00::1': 'unique local (private)',
      'ff02::1': 'multicast',
      '::ffff:127.0.0.1': 'loopback, IPv4-mapped',
      '::ffff:a9fe:a9fe': 'link-local (cloud metadata), IPv4-mapped',
      '::7f00:1': 'IPv4-compatible',
      '64:ff9b::a00:1': 'IPv4-translated',
      '2002:7f00:1::': '6to4',
    };
    for (const [address, range] of Object.entries(internal)) expect([address, specialRangeOf(parseIp(address)!)]).toEqual([address, range]);
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::6810:84e5', '::ffff:8.8.8.8']) {
      expect([address, specialRangeOf(parseIp(address)!)]).toEqual([address, undefined]);
    }
  });

  it('refuses internal hosts in every spelling the URL parser or the resolver turns into one', async () => {
    const policy = new OutboundPolicy(undefined, dns);
    const cases: Record<string, string> = {
      'http://169.254.169.254/latest/meta-data/': '169.254.169.254 is link-local (cloud metadata)',
      'http://10.0.0.1/hook': '10.0.0.1 is private',
      'http://localhost:5432/': 'localhost (127.0.0.1) is loopback',
      'http://[::1]/hook': '::1 is loopback',
      'http://0x7f000001/hook': '127.0.0.1 is loopback',
      'http://2130706433/hook': '127.0.0.1 is loopback',
      'http://0177.0.0.1/hook': '127.0.0.1 is loopback',
      'http://127.1/hook': '127.0.0.1 is loopback',
      'http://0/hook': '0.0.0.0 is unspecified',
      'http://[::ffff:127.0.0.1]/hook': 'is loopback, IPv4-mapped',
      'http://[::ffff:10.0.0.1]:8080/hook': 'is private, IPv4-mapped',
      'http://100.64.1.1/': 'is carrier-grade NAT',
      'http://224.0.0.251/': 'is multicast',
      'http://metadata.nip.example/': 'metadata.nip.example (169.254.169.254) is link-local',
      'https://mixed.example.com/hook': 'mixed.example.com (10.0.0.7) is private',
    };
    for (const [url, expected] of Object.entries(cases)) expect([url, await refusal(policy, url)]).toEqual([url, expect.stringContaining(expected)]);
  });

  it('refuses other schemes, credentials in the URL and hosts that do not resolve', async () => {
    const policy = new OutboundPolicy(undefined, dns);
    expect(await refusal(policy, 'ftp://hooks.example.com/x')).toBe('must be an http:// or https:// URL');
    expect(await refusal(policy, 'file:///etc/passwd')).toBe('must be an http:// or https:// URL');
    expect(await refusal(policy, 'https://user:secret@hooks.example.com/x')).toBe('must not carry credentials (user:password@)');
    expect(await refusal(policy, 'https://token@hooks.example.com/x')).toBe('must not carry credentials (user:password@)');
    expect(await refusal(policy, 'https://nowhere.invalid/x')).toBe('host nowhere.invalid could not be resolved');
    expect(await refusal(policy, 'not a url')).toBe('is not a valid URL');
  });

  it('accepts public hosts and answers the addresses it checked', async () => {
    const policy = new OutboundPolicy(undefined, dns);
    expect((await policy.checkUrl('https://hooks.example.com/avp')).addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
    expect((await policy.checkUrl('https://v6.example.com:8443/avp')).addresses).toEqual([{ address: '2606:4700::6810:84e5', family: 6 }]);
    expect((await policy.checkUrl('http://93.184.216.34/')).addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });
});

describe('the operator allow list (OUTBOUND_ALLOWED_HOSTS)', () => {
  it('lets listed ranges, addresses and host names through, and nothing else', async () => {
    const policy = new OutboundPolicy(parseOutboundAllowList('127.0.0.1, 10.1.0.0/16 localhost.'), dns);
    await expect(policy.checkUrl('http://127.0.0.1:8080/hook')).resolves.toBeDefined();
    await expect(policy.checkUrl('http://[::ffff:127.0.0.1]/hook')).resolves.toBeDefined();
    await expect(policy.checkUrl('http://10.1.200.3/hook')).resolves.toBeDefined();
    await expect(policy.checkUrl('http://LOCALHOST:5432/')).resolves.toBeDefined();
    expect(await refusal(policy, 'http://127.0.0.2/hook')).toContain('is loopback');
    expect(await refusal(policy, 'http://10.2.0.1/hook')).toContain('is private');
    expect(await refusal(policy, 'http://169.254.169.254/')).toContain('link-local');
    // The allow list never admits credentials or other schemes.
    expect(await refusal(policy, 'http://u:p@127.0.0.1/')).toContain('credentials');
  });

  it('rejects entries that are neither hosts, addresses nor ranges', () => {
    expect(parseOutboundAllowList('')).toEqual({ hosts: [], ranges: [] });
    expect(parseOutboundAllowList(' ::1 ,, fd00::/8 ').ranges).toHaveLength(2);
    expect(() => parseOutboundAllowList('10.0.0.0/33')).toThrow('"10.0.0.0/33"');
    expect(() => parseOutboundAllowList('http://x')).toThrow('"http://x"');
    expect(() => parseOutboundAllowList('*.example.com')).toThrow('"*.example.com"');
  });
});

describe('the send-time lookup', () => {
  it('connects only to addresses checked in the same lookup: a host that rebinds inward is refused', async () => {
    let answer = '93.184.216.34';
    const policy = new OutboundPolicy(undefined, async () => [{ address: answer, family: 4 }]);
    await expect(policy.checkUrl('https://rebind.example.com/hook')).resolves.toBeDefined();
    answer = '127.0.0.1';
    const looked = await new Promise<unknown>((resolve) => policy.lookup('rebind.example.com', { all: true }, (error, addresses) => resolve(error ?? addresses)));
    expect(looked).toBeInstanceOf(OutboundRefusedError);
    expect((looked as Error).message).toContain('rebind.example.com (127.0.0.1) is loopback');
    answer = '93.184.216.34';
    const single = await new Promise<unknown>((resolve) => policy.lookup('rebind.example.com', {}, (error, address, family) => resolve(error ?? [address, family])));
    expect(single).toEqual(['93.184.216.34', 4]);
  });
});

describe('checkField', () => {
  it('answers 400 VALIDATION_FAILED naming the field, and lets an empty value through when asked', async () => {
    const policy = new OutboundPolicy(undefined, dns);
    await expect(policy.checkField('webhook_uri', '', { allowEmpty: true })).resolves.toBeUndefined();
    const error = await policy.checkField('webhook_uri', 'http://169.254.169.254/').catch((caught: unknown) => caught);
    expect(isAppError(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'VALIDATION_FAILED', httpStatus: 400, details: { problems: [expect.stringMatching(/^webhook_uri: must not point at an internal address/)] } });
  });
});
