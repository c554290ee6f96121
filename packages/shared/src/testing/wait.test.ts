import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort } from './wait.ts';

describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range that a server can listen on', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(32_768);
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('skips ports something already listens on, and falls back to any free port when its block is full', async () => {
    const first = await freePort();
    const blockStart = 10_000 + Math.floor((first - 10_000) / 400) * 400;
    const servers = [];
    const occupied = new Set<number>();
    for (let port = blockStart; port < blockStart + 400; port += 1) {
      const server = createServer();
      const listening = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (listening) {
        servers.push(server);
        occupied.add(port);
      }
    }
    try {
      const port = await freePort();
      expect(occupied.has(port)).toBe(false);
      expect(port).toBeGreaterThanOrEqual(32_768);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
