import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/create-logger.ts';
import { GracefulShutdown } from './graceful-shutdown.ts';

describe('GracefulShutdown', () => {
  it('runs the steps once, in order, and turns draining on first', async () => {
    const shutdown = new GracefulShutdown(silentLogger());
    const seen: string[] = [];
    shutdown.add('stop consumers', async () => {
      seen.push(`stop consumers (draining=${shutdown.isDraining()})`);
    });
    shutdown.add('close database', async () => {
      seen.push('close database');
    });
    await Promise.all([shutdown.shutdown('test'), shutdown.shutdown('again')]);
    await shutdown.shutdown('third');
    expect(seen).toEqual(['stop consumers (draining=true)', 'close database']);
  });

  it('abandons a stuck step after its time limit and still runs the rest', async () => {
    const shutdown = new GracefulShutdown(silentLogger(), 30);
    const seen: string[] = [];
    shutdown.add('stuck', () => new Promise<void>(() => undefined));
    shutdown.add('failing', async () => {
      throw new Error('boom');
    });
    shutdown.add('last', async () => {
      seen.push('last');
    });
    const previousExitCode = process.exitCode;
    await shutdown.shutdown('test');
    expect(seen).toEqual(['last']);
    expect(process.exitCode).toBe(1);
    process.exitCode = previousExitCode;
  });
});
