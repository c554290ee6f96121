import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LazyRequestLogger } from './lazy-request-logger.ts';

function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level }, stream);
  let children = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof logger.child;
  return { logger, lines, children: () => children };
}

describe('the lazy request logger', () => {
  it('makes no child for a request that logs below the level, and one carrying the bindings when it logs', async () => {
    const { logger, lines, children } = capture('warn');
    const log = new LazyRequestLogger(logger, { reqId: 'r-1' }, {});
    log.info({ req: 'x' }, 'incoming request');
    log.debug('quiet');
    expect(children()).toBe(0);
    expect(log.isLevelEnabled('info')).toBe(false);
    expect(log.isLevelEnabled('error')).toBe(true);
    log.error({ err: 'boom' }, 'failed');
    log.warn('again');
    await new Promise((resolve) => setImmediate(resolve));
    expect(children()).toBe(1);
    expect(lines.map((line) => [line.reqId, line.msg])).toEqual([
      ['r-1', 'failed'],
      ['r-1', 'again'],
    ]);
  });

  it('honours a route\'s own level over the parent\'s', async () => {
    const { logger, lines } = capture('info');
    const log = new LazyRequestLogger(logger, { reqId: 'r-2' }, { level: 'warn' });
    expect(log.level).toBe('warn');
    log.info('not at warn');
    log.warn('at warn');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => line.msg)).toEqual(['at warn']);
    expect(log.bindings()).toMatchObject({ reqId: 'r-2' });
  });
});
