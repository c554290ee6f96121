import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * The end-to-end turn benchmarks stand up flow-manager and pipeline-manager with ai-manager as a
 * stub: when a service starts asking ai-manager something new, the stub must learn it, or the
 * benchmark (not run in CI otherwise) stops measuring. One call of two turns keeps them honest.
 */
describe('the turn benchmark platform', () => {
  it('runs a short caller-first-audio measurement end to end', async () => {
    const script = fileURLToPath(new URL('./caller-first-audio.ts', import.meta.url));
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, '1', '2'], { timeout: 90_000, env: { ...process.env, BENCH_JSON: '' } });
    expect(stdout).toMatch(/end of caller utterance -> first audio heard: n=2 p50 \d/);
    expect(stdout).not.toMatch(/a call failed/);
  }, 120_000);
});
