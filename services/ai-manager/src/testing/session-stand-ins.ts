import { randomUUID } from 'node:crypto';
import { createDatabase, rpcCall, type Database, type Subscription } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { expect } from 'vitest';
import type { AiManagerOptions } from '../app.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from './harness.ts';

/** What ai-manager asked pipeline-manager for when a session started. */
export interface PipelineStartRequest {
  aicall_id: string;
  ai: { tts_type: string; tts_voice_id: string };
  tools: { name: string; parameters: { required?: string[] } }[];
}

/**
 * ai-manager on PGlite with stand-ins for flow-manager (answers variable reads with
 * `flowVariables`) and pipeline-manager (records every pipeline start), for tests of what a
 * session start (`ai_talk`) asks for.
 */
export interface SessionStandIns {
  harness: Harness;
  customer: { id: string; key: string };
  starts: PipelineStartRequest[];
  /** The activeflow variables flow-manager answers with, and how often they were read. */
  flowVariables: Record<string, string>;
  /** The call of each activeflow a session was started on (flow-manager's answer when asked about it). */
  activeflowCalls: Map<string, string>;
  variableReads: number;
  /** Creates an AI with these fields, starts a session as ai_talk does and returns the pipeline start request. */
  start(ai: Record<string, unknown>): Promise<PipelineStartRequest>;
  stop(): Promise<void>;
}

export async function startSessionStandIns(name: string, options?: AiManagerOptions): Promise<SessionStandIns> {
  const test: TestPgliteDatabase = await createTestPgliteDatabase();
  const database: Database = await createDatabase(test.options);
  const harness = await startHarness(database, options);
  const subscriptions: Subscription[] = [];
  const standIns: SessionStandIns = {
    harness,
    customer: await createTestCustomer(harness, name),
    starts: [],
    flowVariables: {},
    activeflowCalls: new Map(),
    variableReads: 0,
    async start(ai) {
      const created = await call(harness, 'POST', '/v1.0/ais', { key: standIns.customer.key, body: aiBody(ai) });
      expect(created.status).toBe(200);
      const [activeflowId, callId] = [randomUUID(), randomUUID()];
      standIns.activeflowCalls.set(activeflowId, callId);
      const answer = await rpcCall<{ id: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
        customer_id: standIns.customer.id,
        activeflow_id: activeflowId,
        assistance_type: 'ai',
        assistance_id: created.body.id,
        reference_type: 'call',
        reference_id: callId,
      });
      expect(answer.push_actions).toHaveLength(1); // started, not refused
      return eventually(() => standIns.starts.find((entry) => entry.aicall_id === answer.id));
    },
    async stop() {
      for (const subscription of subscriptions) await subscription.close();
      await harness.stop();
      await database.close();
      await test.drop();
    },
  };
  subscriptions.push(
    await harness.bus.serve('pipeline-manager', async (request) => {
      if (request.method === 'POST' && request.uri === '/v1/pipelines') {
        standIns.starts.push(request.data as PipelineStartRequest);
        return { status_code: 200, data: { pipeline_id: randomUUID(), instance_id: 'fake-pipeline-manager' } };
      }
      return { status_code: 200, data: {} };
    }),
    await harness.bus.serve('flow-manager', async (request) => {
      const activeflow = /^\/v1\/activeflows\/([^/?]+)/.exec(request.uri)?.[1];
      if (request.method === 'GET' && activeflow) {
        return { status_code: 200, data: { id: activeflow, reference_type: 'call', reference_id: standIns.activeflowCalls.get(activeflow) ?? null } };
      }
      if (request.method === 'GET' && request.uri.startsWith('/v1/variables/')) {
        standIns.variableReads++;
        return { status_code: 200, data: { variables: standIns.flowVariables } };
      }
      return { status_code: 200, data: {} };
    }),
  );
  return standIns;
}
