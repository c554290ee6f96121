import { randomUUID } from 'node:crypto';
import { createDatabase, rpcCall, type Database, type Subscription } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';

interface PipelineStartRequest {
  aicall_id: string;
  tools: { name: string; parameters: { required?: string[] } }[];
}

/** Starting a session with stand-ins for flow-manager and pipeline-manager: is search_knowledge offered? */
describe('session start: search_knowledge is offered only to an AI with a knowledge base', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let harness: Harness;
  let customer: { id: string; key: string };
  const subscriptions: Subscription[] = [];
  const starts: PipelineStartRequest[] = [];

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    harness = await startHarness(database);
    customer = await createTestCustomer(harness, 'knowledge');
    subscriptions.push(
      await harness.bus.serve('pipeline-manager', async (request) => {
        if (request.method === 'POST' && request.uri === '/v1/pipelines') {
          starts.push(request.data as PipelineStartRequest);
          return { status_code: 200, data: { pipeline_id: randomUUID(), instance_id: 'fake-pipeline-manager' } };
        }
        return { status_code: 200, data: {} };
      }),
      await harness.bus.serve('flow-manager', async (request) => {
        if (request.method === 'GET' && request.uri.startsWith('/v1/variables/')) return { status_code: 200, data: { variables: {} } };
        return { status_code: 200, data: {} };
      }),
    );
  });

  afterAll(async () => {
    for (const subscription of subscriptions) await subscription.close();
    await harness?.stop();
    await database?.close();
    await test?.drop();
  });

  async function offeredTools(ai: Record<string, unknown>): Promise<PipelineStartRequest['tools']> {
    const created = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody(ai) });
    expect(created.status).toBe(200);
    const answer = await rpcCall<{ id: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
      customer_id: customer.id,
      activeflow_id: randomUUID(),
      assistance_type: 'ai',
      assistance_id: created.body.id,
      reference_type: 'call',
      reference_id: randomUUID(),
    });
    expect(answer.push_actions).toHaveLength(1);
    return (await eventually(() => starts.find((entry) => entry.aicall_id === answer.id))).tools;
  }

  it('leaves it out without a knowledge base, offers it with its parameters with one', async () => {
    const without = await offeredTools({ tool_names: ['all'] });
    expect(without.map((tool) => tool.name)).not.toContain('search_knowledge');
    expect(without.map((tool) => tool.name)).toContain('stop_service');

    const knowledgebase = await call(harness, 'POST', '/v1.0/knowledgebases', { key: customer.key, body: { name: 'help' } });
    const withKnowledge = await offeredTools({ tool_names: ['search_knowledge', 'stop_service'], knowledgebase_ids: [knowledgebase.body.id] });
    expect(withKnowledge.map((tool) => tool.name).sort()).toEqual(['search_knowledge', 'stop_service']);
    expect(withKnowledge.find((tool) => tool.name === 'search_knowledge')?.parameters.required).toEqual(['query']);
  });
});
