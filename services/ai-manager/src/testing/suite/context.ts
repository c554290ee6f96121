import type { Database } from '@avp/shared';
import type { Harness } from '../harness.ts';

/** What every part of the shared suite gets: the running service and its database. */
export interface SuiteContext {
  harness: Harness;
  database: Database;
}

/** Gives the suite parts access to the context created in the suite's beforeAll. */
export type GetContext = () => SuiteContext;
