import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { appError } from '../errors/app-error.ts';
import { inRange, parseIp, parseRange, specialRangeOf, unmapped, type IpRange } from './ip-ranges.ts';

/** Resolves a host name to every address it has (`dns.lookup` with `all: true` by default). */
export type HostResolver = (hostname: string) => Promise<LookupAddress[]>;

/** What the operator allows besides public addresses (`OUTBOUND_ALLOWED_HOSTS`). */
export interface OutboundAllowList {
  /** Host names allowed whatever they resolve to (lower case, no trailing dot). */
  hosts: string[];
  /** Address ranges allowed although they are internal. */
  ranges: IpRange[];
}

/** Thrown when a URL or an address may not be called; the message says why, for the customer. */
export class OutboundRefusedError extends Error {
  readonly code = 'OUTBOUND_REFUSED';

  constructor(message: string) {
    super(message);
    this.name = 'OutboundRefusedError';
  }
}

/**
 * Thrown when a host name does not resolve: not a refusal (a later attempt may succeed), but
 * a URL that cannot be checked cannot be saved either.
 */
export class HostUnresolvedError extends Error {
  readonly code = 'ENOTFOUND';

  constructor(host: string) {
    super(`host ${host} could not be resolved`);
    this.name = 'HostUnresolvedError';
  }
}

/** A URL that passed the checks, with the addresses its host had at that moment. */
export interface CheckedUrl {
  url: URL;
  addresses: LookupAddress[];
}

/**
 * Parses `OUTBOUND_ALLOWED_HOSTS`: comma- or space-separated host names, IP addresses and
 * CIDR ranges (`localhost, 127.0.0.1, 10.1.0.0/16, ::1`). Throws on an entry that is neither.
 */
export function parseOutboundAllowList(text: string): OutboundAllowList {
  const list: OutboundAllowList = { hosts: [], ranges: [] };
  for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
    const range = parseRange(entry);
    if (range) {
      list.ranges.push(range);
      continue;
    }
    if (entry.includes('/') || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(entry)) {
      throw new Error(`"${entry}" is not a host name, an IP address or a CIDR range`);
    }
    list.hosts.push(normalHost(entry));
  }
  return list;
}

function normalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

const defaultResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The rule for every URL a customer gives the platform to call (webhooks, media URLs):
 * `http` or `https` only, no credentials in it, and a host whose every address is public
 * unicast: never loopback, private, link-local (so never the cloud metadata address),
 * carrier-grade NAT, multicast, unspecified, reserved, nor an IPv4-mapped form of these.
 * Host names are resolved, so `localhost`, `0x7f000001` or a name pointing at 10.0.0.1 are
 * refused alike. The operator's allow list lets named hosts and ranges through (development,
 * tests, an internal receiver on purpose).
 *
 * `checkUrl` is the save-time check; `lookup` is the send-time one: a connection made with
 * it goes only to an address checked in that same lookup, so a name that resolved to a
 * public address at save time and to an internal one later (DNS rebinding) is refused.
 */
export class OutboundPolicy {
  private readonly resolve: HostResolver;

  constructor(
    private readonly allowList: OutboundAllowList = { hosts: [], ranges: [] },
    resolve?: HostResolver,
  ) {
    this.resolve = resolve ?? defaultResolver;
  }

  /**
   * Checks a URL and resolves its host. Throws OutboundRefusedError saying why it may not be
   * called, or HostUnresolvedError when its host does not resolve.
   */
  async checkUrl(raw: string): Promise<CheckedUrl> {
    const url = this.parseUrl(raw);
    const addresses = await this.addressesOf(url.hostname);
    return { url, addresses };
  }

  /**
   * The checks that need no resolver: an http(s) URL without credentials, and a literal IP
   * host allowed. A host name is left to `lookup` at connect time (the send-time check).
   */
  parseUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OutboundRefusedError('is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusedError('must be an http:// or https:// URL');
    if (url.username !== '' || url.password !== '') throw new OutboundRefusedError('must not carry credentials (user:password@)');
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (parseIp(host)) this.checkAddress(host, host);
    return url;
  }

  /**
   * The addresses a host may be reached at: all of them allowed, else OutboundRefusedError
   * (HostUnresolvedError when it does not resolve). A literal IP is checked as it is; a name
   * is resolved and every answer checked (the connection could pick any of them); a name
   * the operator lists passes whatever it resolves to.
   */
  async addressesOf(hostname: string): Promise<LookupAddress[]> {
    const host = normalHost(hostname.replace(/^\[(.*)\]$/, '$1'));
    const literal = parseIp(host);
    if (literal) {
      this.checkAddress(host, host);
      return [{ address: host, family: literal.version }];
    }
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolve(host);
    } catch {
      throw new HostUnresolvedError(host);
    }
    if (addresses.length === 0) throw new HostUnresolvedError(host);
    if (this.allowList.hosts.includes(host)) return addresses;
    for (const { address } of addresses) this.checkAddress(host, address);
    return addresses;
  }

  /** Throws unless the address is public or in the allow list. */
  private checkAddress(host: string, address: string): void {
    const ip = parseIp(address);
    if (!ip) throw new OutboundRefusedError(`host ${host} resolved to an unusable address`);
    const judged = unmapped(ip);
    if (this.allowList.ranges.some((range) => inRange(judged, range) || inRange(ip, range))) return;
    const special = specialRangeOf(ip);
    if (special === undefined) return;
    const shown = host === address ? address : `${host} (${address})`;
    throw new OutboundRefusedError(`must not point at an internal address: ${shown} is ${special}`);
  }

  /**
   * A `lookup` for `net.connect` / `http.request` that resolves through this policy and
   * refuses internal answers, so the address connected to is the address checked.
   */
  readonly lookup = (
    hostname: string,
    options: LookupOptions,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    this.addressesOf(hostname).then(
      (addresses) => {
        const usable = options.family === 4 || options.family === 6 ? addresses.filter((entry) => entry.family === options.family) : addresses;
        if (usable.length === 0) {
          callback(Object.assign(new Error(`no IPv${String(options.family)} address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  /**
   * The save-time check of a request field: passes when the value may be called (or is
   * empty, when `allowEmpty`), else a 400 VALIDATION_FAILED naming the field.
   */
  async checkField(field: string, value: string, options: { allowEmpty?: boolean } = {}): Promise<void> {
    if (value === '' && options.allowEmpty) return;
    try {
      await this.checkUrl(value);
    } catch (error) {
      if (!(error instanceof OutboundRefusedError) && !(error instanceof HostUnresolvedError)) throw error;
      const problem = `${field}: ${error.message}`;
      throw appError('VALIDATION_FAILED', problem, { problems: [problem] });
    }
  }
}
