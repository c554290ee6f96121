import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - unit: pure code, no servers (`*.test.ts`).
 * - integration: real PostgreSQL / RabbitMQ / sockets on this machine (`*.int.test.ts`).
 * - disruptive: tests that restart shared infrastructure (the RabbitMQ broker) and so must
 *   not run beside anything else (`*.disruptive.test.ts`); `pnpm test` runs them last, alone.
 */
const exclude = ['**/node_modules/**', '**/dist/**'];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,services,infra,bench}/**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts', '**/*.disruptive.test.ts'],
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
          name: 'disruptive',
          include: ['{packages,services}/**/*.disruptive.test.ts'],
          exclude,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
