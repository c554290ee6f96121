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
 * what a running activeflow still carries is kept; a release ai-manager does not take is stored,
 * tried again when due by any releaser (once), everything checked afresh, and given up after the
 * last wait.
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
    const releaser = new InlineAiReleaser(context, { retryDelaysMs: [] });
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

  const stored = async (customerId: string) =>
    (await context.db.selectFrom('inline_ai_releases').selectAll().where('customer_id', '=', customerId).execute()).map((row) => ({ aiIds: row.ai_ids, attempts: row.attempts }));

  it('stores a release ai-manager did not take and tries it again when due, then gives up after the last wait', async () => {
    const releaser = new InlineAiReleaser(context, { retryDelaysMs: [50, 50], pollIntervalMs: 20 });
    releaser.start();
    try {
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
      await eventually(async () => (await stored(customerId)).length === 0, 'the taken release to leave the table', 5000);

      asked.length = 0;
      refuseNext = 10;
      await releaser.release(customerId, [aiId]);
      await eventually(() => asked.length === 3, 'the three tries', 5000);
      await eventually(async () => (await stored(customerId)).length === 0, 'the given-up release to leave the table', 5000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(asked).toHaveLength(3);
    } finally {
      refuseNext = 0;
      await releaser.stop();
    }
  });

  it('keeps a stored release over a stop and a restart: another releaser (another instance, or the next start) tries it', async () => {
    const customerId = randomUUID();
    const aiId = randomUUID();
    asked.length = 0;
    refuseNext = 1;
    const first = new InlineAiReleaser(context, { retryDelaysMs: [50], pollIntervalMs: 20 });
    first.start();
    await first.release(customerId, [aiId]);
    await first.stop();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Stopped, it tried nothing more; the release waits in the table.
    expect(asked).toHaveLength(1);
    expect(await stored(customerId)).toEqual([{ aiIds: [aiId], attempts: 1 }]);

    // Two instances start: the due release is tried once, by one of them.
    const instances = [new InlineAiReleaser(context, { retryDelaysMs: [50], pollIntervalMs: 10 }), new InlineAiReleaser(context, { retryDelaysMs: [50], pollIntervalMs: 10 })];
    for (const instance of instances) instance.start();
    try {
      await eventually(async () => (await stored(customerId)).length === 0, 'the stored release to be taken', 5000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(asked).toEqual([
        { customer_id: customerId, ai_ids: [aiId] },
        { customer_id: customerId, ai_ids: [aiId] },
      ]);
    } finally {
      for (const instance of instances) await instance.stop();
    }
  });

  it('checks afresh at each try: an AI a running activeflow carries by then is not released', async () => {
    const releaser = new InlineAiReleaser(context, { retryDelaysMs: [100], pollIntervalMs: 20 });
    const customerId = randomUUID();
    const [carried, free] = [randomUUID(), randomUUID()];
    asked.length = 0;
    refuseNext = 1;
    await releaser.release(customerId, [carried, free]);
    await insertActiveflow(context.db, { customerId, flowId: null, actions: [inlineTalk(carried)], referenceType: 'api', referenceId: null, variables: {} });
    releaser.start();
    try {
      await eventually(() => asked.length === 2, 'the second try', 5000);
      expect(asked[1]).toEqual({ customer_id: customerId, ai_ids: [free] });
    } finally {
      refuseNext = 0;
      await releaser.stop();
    }
  });
});
