import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Longest files first, so the slowest (the fault suites, then the other acceptance and e2e
 * files) never start last and stretch the run. Vitest would otherwise order a fresh checkout's
 * files by size, and the fault suites are a few lines each.
 */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const weight = (file: TestSpecification) =>
      /\/faults-[^/]*\.test\.ts$/.test(file.moduleId) ? 0 : /\/packages\/(acceptance|e2e)\//.test(file.moduleId) ? 1 : 2;
    const sorted = (await super.sort(files)).map((file, index) => ({ file, index })).sort((a, b) => weight(a.file) - weight(b.file) || a.index - b.index).map(({ file }) => file);
    return sorted;
  }
}

/**
 * Three projects:
 * - unit: pure code, no servers (`*.test.ts`).
 * - integration: real PostgreSQL / RabbitMQ / Asterisk / sockets on this machine
 *   (`*.int.test.ts`). Most of these wait on calls spoken in real time rather than on the CPU,
 *   so they run three files at a time even on two cores.
 * - alone: tests that must not run beside anything else, one file at a time, after the others:
 *   those that restart shared infrastructure (the RabbitMQ broker, `*.disruptive.test.ts`),
 *   load tests whose timing a busy machine would spoil (`*.load.test.ts`) and `quietSpeech`.
 */
const exclude = ['**/node_modules/**', '**/dist/**'];
/**
 * End-to-end tests whose offline recogniser must hear the AI's first words: in the embedded mode
 * the greeting plays while the same process sets the call up, and beside two other files on two
 * cores its start came out clipped now and then (matched to another phrase). They run alone.
 */
const quietSpeech = ['packages/e2e/src/recordings-after-call.int.test.ts', 'packages/e2e/src/summaries-speech.int.test.ts', 'packages/one-process/src/demo.int.test.ts'];
const alone = ['{packages,services}/**/*.disruptive.test.ts', '{packages,services}/**/*.load.test.ts', ...quietSpeech];

export default defineConfig({
  test: {
    // Three files at a time on two cores: see `integration` above.
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
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
          include: ['{packages,services,bench}/**/*.int.test.ts'],
          exclude: [...exclude, ...quietSpeech],
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
