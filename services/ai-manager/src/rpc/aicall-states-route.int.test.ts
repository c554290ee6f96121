import { randomUUID } from 'node:crypto';
import { createDatabase, rpcCall, type Database } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, startHarness, type Harness } from '../testing/harness.ts';

/** `POST /v1/aicalls/states`: what pipeline-manager's liveness check learns about its pipelines' AIcalls. */
describe('AIcall states for pipeline-manager', () => {
  let testDatabase: TestPgliteDatabase;
  let database: Database;
  let harness: Harness;

  beforeAll(async () => {
    testDatabase = await createTestPgliteDatabase();
    database = await createDatabase(testDatabase.options);
    harness = await startHarness(database, { pipelineWatchdog: { intervalMs: 0 } });
  });

  afterAll(async () => {
    await harness?.stop();
    await database?.close();
    await testDatabase?.drop();
  });

  async function aicallOf(customer: { key: string }): Promise<string> {
    const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ tts_type: 'local', tts_voice_id: '', tool_names: [] }) });
    const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: '' } });
    expect(aicall.status, JSON.stringify(aicall.body)).toBe(200);
    return aicall.body.id as string;
  }

  it("answers each AIcall's status for its own customer, null for another customer's or a missing one, and a deleted record's status", async () => {
    const alice = await createTestCustomer(harness);
    const bob = await createTestCustomer(harness);
    const live = await aicallOf(alice);
    const ended = await aicallOf(alice);
    const deleted = await aicallOf(alice);
    expect((await call(harness, 'POST', `/v1.0/aicalls/${ended}/terminate`, { key: alice.key })).status).toBe(200);
    expect((await call(harness, 'DELETE', `/v1.0/aicalls/${deleted}`, { key: alice.key })).status).toBe(200);
    const missing = randomUUID();

    const reply = await rpcCall<{ result: { id: string; status: string | null }[] }>(harness.bus, 'ai-manager', 'POST', '/v1/aicalls/states', {
      aicalls: [
        { id: live, customer_id: alice.id },
        { id: ended, customer_id: alice.id },
        { id: deleted, customer_id: alice.id },
        { id: live, customer_id: bob.id },
        { id: missing, customer_id: alice.id },
      ],
    });
    expect(reply.result).toEqual([
      { id: live, status: 'progressing', pipeline_epoch: 0 },
      { id: ended, status: 'terminated', pipeline_epoch: 0 },
      // Deleting the record does not end a session: its pipeline must not stop for it.
      { id: deleted, status: 'progressing', pipeline_epoch: 0 },
      { id: live, status: null, pipeline_epoch: null },
      { id: missing, status: null, pipeline_epoch: null },
    ]);
    await expect(rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aicalls/states', { aicalls: [{ id: 'nope' }] })).rejects.toMatchObject({ httpStatus: 400 });
  });
});
