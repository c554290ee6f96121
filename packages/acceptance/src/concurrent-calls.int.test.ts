import { concurrentCallsSuite } from './concurrent-calls-suite.ts';

concurrentCallsSuite('simulator');
