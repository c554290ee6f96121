import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const entry = join(root, 'packages', 'one-process', 'src', 'main.ts');

interface LogLine {
  msg?: string;
  url?: string;
  level?: number;
}

/** Runs `pnpm start`'s entry point as a real process and collects its JSON log lines. */
function startProcess(environment: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: root,
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    lines.push(line);
    for (const waiter of waiters.filter((candidate) => candidate.match(line))) waiter.resolve(line);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (message: string) =>
    new Promise<LogLine>((resolve) => {
      const found = lines.find((line) => line.msg === message);
      if (found) resolve(found);
      else waiters.push({ match: (line) => line.msg === message, resolve });
    });
  return { child, lines, exited, waitFor, stderr: () => stderr };
}

describe('the one-process entry point', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'one-process-main-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts, becomes ready, and shuts down cleanly on SIGTERM', async () => {
    const started = startProcess({ PORT: '0', DATA_DIR: dataDir, HOST: '127.0.0.1' });
    try {
      const ready = await started.waitFor('platform started');
      const response = await fetch(`${ready.url}/readyz`);
      expect(response.status).toBe(200);
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      expect(started.lines.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'shutdown complete']));
      expect(started.lines.filter((line) => (line.level ?? 0) >= 50)).toEqual([]);
    } finally {
      started.child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses to start with bad settings and names each bad variable', async () => {
    const started = startProcess({ PORT: 'eighty', DATABASE_URL: 'mysql://nope', DATA_DIR: dataDir });
    expect(await started.exited).toBe(78);
    expect(started.stderr()).toContain('PORT:');
    expect(started.stderr()).toContain('DATABASE_URL:');
  }, 30_000);
});
