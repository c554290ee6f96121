import { concurrentCallsSuite } from './concurrent-calls-suite.ts';
import { acceptanceTelephony } from './suite.ts';

// Twenty calls at once: in the `alone` project, so other tests do not spoil its timing windows.
concurrentCallsSuite(acceptanceTelephony());
