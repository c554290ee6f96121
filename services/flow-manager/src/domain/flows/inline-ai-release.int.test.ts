import { randomUUID } from 'node:crypto';
import { appError, createDatabase, createInProcessBus, createRpcRouter, migrateToLatest, silentLogger, type Action, type Bus, type Database } from '@avp/shared';
import { createTestPgliteDatabase, eventually, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseSchema } from '../../app.ts';
import { migrations } from '../../db/migrations.ts';
import type { FlowManagerTables } from '../../db/tables.ts';
import { insertActiveflow } from '../activeflows/activeflow-store.ts';
import { createDomainContext, type DomainContext } from '../context.ts';
import { InlineAiReleaser } from './inline-ai-release.ts';

/**
 * The release of inline AIs against ai-manager's bus route as a fake (PGlite, in-process bus):
 * what a running activeflow still carries is kept; a release ai-manager does not take is tried
 * again, everything checked afresh, and given up after the last wait.
 */
describe('InlineAiReleaser', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let bus: Bus;
  let context: DomainContext;
  /** What ai-manager was asked, and how many of the next asks it refuses. */
  const asked: { customer_id: string; ai_ids: string[] }[] = [];
  let refuseNext = 0;

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    await migrateToLatest(database, { schema: databaseSchema, migrations, logger: silentLogger() });
    bus = createInProcessBus();
    const router = createRpcRouter().add('POST', '/v1/inline_ais/release', async ({ data }) => {
      asked.push(data as { customer_id: string; ai_ids: string[] });
      if (refuseNext > 0) {
        refuseNext -= 1;
        throw appError('SERVICE_UNAVAILABLE', 'ai-manager is busy');
      }
      return { released: 1, deleted: 1 };
    });
    await bus.serve('ai-manager', router.handle);
    context = createDomainContext(database.forSchema<FlowManagerTables>(databaseSchema), bus, silentLogger());
  });

  afterAll(async () => {
    await bus?.close();
    await database?.close();
    await test?.drop();
  });

  const inlineTalk = (aiId: string): Action => ({ id: randomUUID(), type: 'ai_talk', option: { engine_model: 'local.scripted', inline_ai_id: aiId } });

  it("keeps what a running activeflow of the customer's carries and releases the rest", async () => {
    const releaser = new InlineAiReleaser(context, []);
    const customerId = randomUUID();
    const [carried, free] = [randomUUID(), randomUUID()];
    await insertActiveflow(context.db, { customerId, flowId: null, actions: [inlineTalk(carried)], referenceType: 'api', referenceId: null, variables: {} });
    asked.length = 0;
    await releaser.release(customerId, [carried, free]);
    expect(asked).toEqual([{ customer_id: customerId, ai_ids: [free] }]);
    // Another customer's activeflow carrying the same id does not hold it.
    await releaser.release(randomUUID(), [carried]);
    expect(asked.at(-1)!.ai_ids).toEqual([carried]);
  });

  it('tries a release ai-manager did not take again, then gives up after the last wait', async () => {
    const releaser = new InlineAiReleaser(context, [50, 50]);
    const customerId = randomUUID();
    const aiId = randomUUID();
    asked.length = 0;
    refuseNext = 1;
    await releaser.release(customerId, [aiId]);
    await eventually(() => asked.length === 2, 'the second try', 5000);
    expect(asked).toEqual([
      { customer_id: customerId, ai_ids: [aiId] },
      { customer_id: customerId, ai_ids: [aiId] },
    ]);

    asked.length = 0;
    refuseNext = 10;
    await releaser.release(customerId, [aiId]);
    await eventually(() => asked.length === 3, 'the three tries', 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(asked).toHaveLength(3);
    refuseNext = 0;

    // Stopped (shutdown): a waiting retry never runs.
    asked.length = 0;
    refuseNext = 1;
    const stopping = new InlineAiReleaser(context, [200]);
    await stopping.release(customerId, [aiId]);
    stopping.stop();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(asked).toHaveLength(1);
    refuseNext = 0;
  });
});
