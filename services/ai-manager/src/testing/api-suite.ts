import type { Database } from '@avp/shared';
import { afterAll, beforeAll, describe } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import type { SuiteContext } from './suite/context.ts';
import { aicallsSuite } from './suite/aicalls-suite.ts';
import { aisSuite } from './suite/ais-suite.ts';
import { billingSuite } from './suite/billing-suite.ts';
import { internalSuite } from './suite/internal-suite.ts';
import { inlineAisSuite } from './suite/inline-ais-suite.ts';
import { isolationSuite } from './suite/isolation-suite.ts';
import { knowledgebaseSearchSuite } from './suite/knowledgebase-search-suite.ts';
import { knowledgebasesSuite } from './suite/knowledgebases-suite.ts';
import { messagesSuite } from './suite/messages-suite.ts';
import { realtimeSuite } from './suite/realtime-suite.ts';
import { summariesSuite } from './suite/summaries-suite.ts';
import { reportIdempotencySuite } from './suite/report-idempotency-suite.ts';
import { customersSuite } from './suite/customers-suite.ts';
import { paginationSuite } from './suite/pagination-suite.ts';
import { platformSuite } from './suite/platform-suite.ts';
import { validationSuite } from './suite/validation-suite.ts';
import { webhookOrderSuite } from './suite/webhook-order-suite.ts';
import { webhooksSuite } from './suite/webhooks-suite.ts';
import { websocketResumeSuite } from './suite/websocket-resume-suite.ts';

/**
 * The ai-manager API suite, run once per database engine. `open` gives a fresh database
 * (or undefined to skip, when the server is not reachable) and its cleanup.
 */
export function describeAiManagerApi(
  name: string,
  open: () => Promise<{ database: Database; cleanup: () => Promise<void> } | undefined>,
): void {
  describe(name, () => {
    let context: SuiteContext | undefined;
    let cleanup = async (): Promise<void> => undefined;
    let harness: Harness | undefined;

    beforeAll(async () => {
      const opened = await open();
      if (!opened) return;
      cleanup = opened.cleanup;
      harness = await startHarness(opened.database);
      context = { harness, database: opened.database };
    });

    afterAll(async () => {
      await harness?.stop();
      await cleanup();
    });

    const get = (): SuiteContext => {
      if (!context) throw new Error('the database for this suite is not available');
      return context;
    };

    customersSuite(get);
    aisSuite(get);
    validationSuite(get);
    paginationSuite(get);
    aicallsSuite(get);
    messagesSuite(get);
    summariesSuite(get);
    reportIdempotencySuite(get);
    isolationSuite(get);
    realtimeSuite(get);
    webhooksSuite(get);
    webhookOrderSuite(get);
    websocketResumeSuite(get);
    platformSuite(get);
    internalSuite(get);
    inlineAisSuite(get);
    billingSuite(get);
    knowledgebasesSuite(get);
    knowledgebaseSearchSuite(get);
  });
}
