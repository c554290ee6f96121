import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboundPolicy, OutboundRefusedError, parseOutboundAllowList, type HostResolver } from './outbound-policy.ts';
import { postOutbound } from './outbound-post.ts';

interface Receiver {
  port: number;
  received: { headers: IncomingHttpHeaders; body: string }[];
}

const servers: Server[] = [];

/** A receiver on 127.0.0.1 answering `status` (and `location` for redirects), or never when `hang`. */
async function startReceiver(status = 204, options: { location?: string; hang?: boolean } = {}): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (options.hang) return;
      if (options.location) response.setHeader('location', options.location);
      response.statusCode = status;
      response.end('ignored body');
    });
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received };
}

afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const post = (policy: OutboundPolicy, url: string, timeoutMs = 2000) =>
  postOutbound(policy, url, { body: '{"type":"x"}', headers: { 'content-type': 'application/json' }, timeoutMs });

describe('postOutbound', () => {
  it('refuses an internal address before connecting', async () => {
    const receiver = await startReceiver();
    await expect(post(new OutboundPolicy(), `http://127.0.0.1:${receiver.port}/hook`)).rejects.toBeInstanceOf(OutboundRefusedError);
    await expect(post(new OutboundPolicy(), `http://[::ffff:127.0.0.1]:${receiver.port}/hook`)).rejects.toBeInstanceOf(OutboundRefusedError);
    expect(receiver.received).toEqual([]);
  });

  it('posts to an allowed address and answers the status', async () => {
    const receiver = await startReceiver(202);
    const policy = new OutboundPolicy(parseOutboundAllowList('127.0.0.1'));
    await expect(post(policy, `http://127.0.0.1:${receiver.port}/hook`)).resolves.toEqual({ status: 202, body: '' });
    expect(receiver.received).toEqual([{ headers: expect.objectContaining({ 'content-type': 'application/json', 'content-length': '12' }), body: '{"type":"x"}' }]);
  });

  it('reads the answer with readBody, up to maxBodyBytes', async () => {
    const receiver = await startReceiver(201);
    const policy = new OutboundPolicy(parseOutboundAllowList('127.0.0.1'));
    const url = `http://127.0.0.1:${receiver.port}/vendor`;
    await expect(postOutbound(policy, url, { body: '{}', headers: {}, timeoutMs: 2000, readBody: true })).resolves.toEqual({ status: 201, body: 'ignored body' });
    await expect(postOutbound(policy, url, { body: '{}', headers: {}, timeoutMs: 2000, readBody: true, maxBodyBytes: 4 })).resolves.toEqual({ status: 201, body: '' });
  });

  it('connects to the address its own lookup checked: a name that now resolves inward is refused', async () => {
    const receiver = await startReceiver();
    // Public when the URL was saved, loopback now (DNS rebinding).
    const rebinding: HostResolver = async () => [{ address: '127.0.0.1', family: 4 }];
    const error = await post(new OutboundPolicy(undefined, rebinding), `http://hooks.rebind.test:${receiver.port}/hook`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboundRefusedError);
    expect((error as Error).message).toContain('hooks.rebind.test (127.0.0.1) is loopback');
    expect(receiver.received).toEqual([]);
    // Allowed by name, the same lookup is what the connection uses (the Host header keeps the name).
    const allowed = new OutboundPolicy(parseOutboundAllowList('hooks.rebind.test'), rebinding);
    await expect(post(allowed, `http://hooks.rebind.test:${receiver.port}/hook`)).resolves.toEqual({ status: 204, body: '' });
    expect(receiver.received[0]?.headers.host).toBe(`hooks.rebind.test:${receiver.port}`);
  });

  it('does not follow redirects, so a 3xx cannot bounce the request to an internal target', async () => {
    const inner = await startReceiver();
    const outer = await startReceiver(307, { location: `http://127.0.0.1:${inner.port}/admin` });
    const policy = new OutboundPolicy(parseOutboundAllowList(`127.0.0.1`));
    await expect(post(policy, `http://127.0.0.1:${outer.port}/hook`)).resolves.toEqual({ status: 307, body: '' });
    expect(inner.received).toEqual([]);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const receiver = await startReceiver(200, { hang: true });
    const policy = new OutboundPolicy(parseOutboundAllowList('127.0.0.1'));
    await expect(post(policy, `http://127.0.0.1:${receiver.port}/hook`, 200)).rejects.toThrow('no answer within 200 ms');
  });
});
