import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - unit: pure code, no servers (`*.test.ts`).
 * - integration: real PostgreSQL / RabbitMQ / Asterisk / sockets on this machine
 *   (`*.int.test.ts`). Most of these wait on calls spoken in real time rather than on the CPU,
 *   so they run three files at a time even on two cores.
 * - alone: tests that must not run beside anything else, one file at a time, after the others:
 *   those that restart shared infrastructure (the RabbitMQ broker, `*.disruptive.test.ts`) and
 *   load tests whose timing a busy machine would spoil (`*.load.test.ts`).
 */
const exclude = ['**/node_modules/**', '**/dist/**'];
const alone = ['{packages,services}/**/*.disruptive.test.ts', '{packages,services}/**/*.load.test.ts'];

export default defineConfig({
  test: {
    // Three files at a time on two cores: see `integration` above.
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,services,infra,bench}/**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', ...alone],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['{packages,services}/**/*.int.test.ts'],
          exclude,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'alone',
          include: alone,
          exclude,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
