import { createServer } from 'node:net';

/** Resolves when `predicate` holds (it may be async), polling; rejects after `timeoutMs` naming `what`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** What `read` answers once it answers something (polled like `eventually`); rejects after `timeoutMs` naming `what`. */
export async function eventuallyFound<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  let value: T | undefined;
  await eventually(async () => (value = await read()) !== undefined, what, timeoutMs, intervalMs);
  return value!;
}

/** Ports this process has handed out: the kernel may give the same free port twice in a row. */
const handedOut = new Set<number>();

/**
 * Where `freePort` looks: below Linux's ephemeral range (32768-60999 by default), so neither an
 * outgoing connection nor a server listening on port 0 can take a port between the moment it was
 * found free and the moment the server that needed it listens (a service process of the
 * acceptance cluster once failed with EADDRINUSE that way). Each test worker has a block of its
 * own, so two workers never pick the same port.
 */
const portRange = { first: 10_000, blocks: 20, blockSize: 400 };

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (for servers whose URL must be known first),
 * never one this process handed out before, from this worker's block (see `portRange`).
 */
export async function freePort(): Promise<number> {
  const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? process.pid);
  const blockStart = portRange.first + (worker % portRange.blocks) * portRange.blockSize;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = blockStart + Math.floor(Math.random() * portRange.blockSize);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  // The block is used up (or taken by something else): any port the kernel offers.
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await anyFreePort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error('no fresh free port after 150 attempts');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was assigned'))));
    });
  });
}
