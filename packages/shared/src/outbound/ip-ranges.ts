import { isIP } from 'node:net';

/** An IP address as a number: 32 bits for IPv4, 128 for IPv6. */
export interface ParsedIp {
  version: 4 | 6;
  value: bigint;
}

/** A CIDR range: `base/bits` of one IP version. */
export interface IpRange {
  version: 4 | 6;
  base: bigint;
  bits: number;
}

/**
 * Parses a canonical IP literal (dotted-quad IPv4, any IPv6 form with or without brackets or
 * zone). Other IPv4 spellings (`2130706433`, `0x7f.1`) are not addresses here: `new URL()`
 * has already normalised them to dotted quads, and a resolver answers in dotted quads.
 */
export function parseIp(text: string): ParsedIp | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '');
  const version = isIP(bare);
  if (version === 4) return { version: 4, value: ipv4Value(bare) };
  if (version === 6) return { version: 6, value: ipv6Value(bare) };
  return undefined;
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Value(text: string): bigint {
  let source = text.toLowerCase();
  // An embedded dotted quad (`::ffff:1.2.3.4`) is the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(source);
  if (dotted?.[1]) {
    const v4 = ipv4Value(dotted[1]);
    source = `${source.slice(0, -dotted[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = source.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Parses `a.b.c.d/n`, `x::y/n` or a single address (a /32 or /128). */
export function parseRange(text: string): IpRange | undefined {
  const [address = '', bitsText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const ip = parseIp(address);
  if (!ip) return undefined;
  const width = ip.version === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!/^\d{1,3}$/.test(bitsText ?? String(width)) || bits > width) return undefined;
  return { version: ip.version, base: ip.value & mask(ip.version, bits), bits };
}

function mask(version: 4 | 6, bits: number): bigint {
  const width = BigInt(version === 4 ? 32 : 128);
  return ((1n << BigInt(bits)) - 1n) << (width - BigInt(bits));
}

/** Whether an address lies in a range (of its own version). */
export function inRange(ip: ParsedIp, range: IpRange): boolean {
  return ip.version === range.version && (ip.value & mask(ip.version, range.bits)) === range.base;
}

function ranges(version: 4 | 6, name: string, cidrs: string[]): { name: string; range: IpRange }[] {
  return cidrs.map((cidr) => {
    const range = parseRange(cidr);
    if (!range || range.version !== version) throw new Error(`bad built-in range ${cidr}`);
    return { name, range };
  });
}

/**
 * Every IPv4 and IPv6 range that is not ordinary public unicast (ipaddr.js 2.5.0's special
 * ranges, see shared/spec/protocols-facts.md section 5): a customer-given URL may never reach
 * these. IPv4-compatible `::/96` is added because `[::127.0.0.1]` normalises into it.
 */
const specialRanges = [
  ...ranges(4, 'unspecified', ['0.0.0.0/8']),
  ...ranges(4, 'private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']),
  ...ranges(4, 'loopback', ['127.0.0.0/8']),
  ...ranges(4, 'link-local (cloud metadata)', ['169.254.0.0/16']),
  ...ranges(4, 'carrier-grade NAT', ['100.64.0.0/10']),
  ...ranges(4, 'multicast', ['224.0.0.0/4']),
  ...ranges(4, 'broadcast', ['255.255.255.255/32']),
  ...ranges(4, 'reserved', ['192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']),
  ...ranges(4, 'reserved', ['192.175.48.0/24', '192.31.196.0/24', '192.52.193.0/24']),
  ...ranges(6, 'unspecified', ['::/128']),
  ...ranges(6, 'loopback', ['::1/128']),
  ...ranges(6, 'IPv4-compatible', ['::/96']),
  ...ranges(6, 'link-local', ['fe80::/10']),
  ...ranges(6, 'unique local (private)', ['fc00::/7']),
  ...ranges(6, 'site-local', ['fec0::/10']),
  ...ranges(6, 'multicast', ['ff00::/8']),
  ...ranges(6, 'IPv4-translated', ['::ffff:0:0:0/96', '64:ff9b::/96', '64:ff9b:1::/48']),
  ...ranges(6, '6to4', ['2002::/16']),
  ...ranges(6, 'teredo', ['2001::/32']),
  ...ranges(6, 'discard', ['100::/64']),
  ...ranges(6, 'reserved', ['2001::/23', '2001:db8::/32', '3fff::/20', '5f00::/16', '2001:2::/48', '2001:3::/32']),
  ...ranges(6, 'reserved', ['2001:4:112::/48', '2620:4f:8000::/48', '2001:10::/28', '2001:20::/28', '2001:30::/28']),
];

const ipv4Mapped = parseRange('::ffff:0:0/96')!;

/** `::ffff:a.b.c.d` as the IPv4 address it stands for; other addresses unchanged. */
export function unmapped(ip: ParsedIp): ParsedIp {
  return inRange(ip, ipv4Mapped) ? { version: 4, value: ip.value & 0xffffffffn } : ip;
}

/**
 * Why an address is not a public one (`loopback`, `private`, ...), or undefined for public
 * unicast. An IPv4-mapped IPv6 address is judged as the IPv4 address inside it.
 */
export function specialRangeOf(ip: ParsedIp): string | undefined {
  const judged = unmapped(ip);
  const found = specialRanges.find((entry) => inRange(judged, entry.range));
  if (!found) return undefined;
  return judged === ip ? found.name : `${found.name}, IPv4-mapped`;
}
