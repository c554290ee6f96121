import { appError, createRpcRouter, rpcCall, type Subscription } from '@avp/shared';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, secretEngineKey, startHarness } from '../harness.ts';
import { storeTranscription } from '../summary-fixtures.ts';
import type { GetContext } from './context.ts';

interface SummaryRequest {
  summary_id: string;
  customer_id: string;
  ai: { engine_model: string; engine_key?: string };
  language: string;
  transcripts: { direction: string; text: string; offset_ms: number }[];
  variables: Record<string, string>;
}

/**
 * `/v1.0/aisummaries` and the ai_summary flow action, with flow-manager (calls, flows,
 * activeflows, variables, on-end flows) and pipeline-manager (transcribers, the summary writer)
 * standing in on the bus. The writer answers from what it was sent; an AI whose engine_model is
 * `openai.broken` fails as a refused key does.
 */
export function summariesSuite(get: GetContext): void {
  describe('AI summaries', () => {
    const calls = new Map<string, { customer_id: string; status: string }>();
    const recordings = new Map<string, { customer_id: string; status: string }>();
    const flows = new Map<string, string>();
    const activeflows = new Map<string, { customer_id: string; reference_type: string; reference_id: string }>();
    const variables = new Map<string, Record<string, string>>();
    const summaryRequests: SummaryRequest[] = [];
    const flowStarts: Record<string, unknown>[] = [];
    let transcriberStarts = 0;
    const transcribers = new Set<string>();
    const servers: Subscription[] = [];

    beforeAll(async () => {
      const owned = <T extends { customer_id: string }>(entry: T | undefined, customerId: string | null, kind: string): T => {
        if (!entry || entry.customer_id !== customerId) throw appError('RESOURCE_NOT_FOUND', `${kind} not found`);
        return entry;
      };
      const flowManager = createRpcRouter()
        .add('GET', '/v1/calls/:id', async ({ params, query }) => ({ id: params.id, ...owned(calls.get(params.id!), query.get('customer_id'), 'Call') }))
        .add('GET', '/v1/recordings/:id', async ({ params, query }) => ({ id: params.id, ...owned(recordings.get(params.id!), query.get('customer_id'), 'Recording') }))
        .add('GET', '/v1/flows/:id', async ({ params, query }) => {
          if (flows.get(params.id!) !== query.get('customer_id')) throw appError('RESOURCE_NOT_FOUND', 'Flow not found');
          return { id: params.id };
        })
        .add('GET', '/v1/activeflows/:id', async ({ params, query }) => ({ id: params.id, ...owned(activeflows.get(params.id!), query.get('customer_id'), 'Activeflow') }))
        .add('GET', '/v1/variables/:id', async ({ params, query }) => {
          owned(activeflows.get(params.id!), query.get('customer_id'), 'Activeflow');
          return { variables: variables.get(params.id!) ?? {} };
        })
        .add('POST', '/v1/activeflows', async ({ data }) => {
          flowStarts.push(data as Record<string, unknown>);
          return { id: randomUUID() };
        });
      const pipelineManager = createRpcRouter()
        .add('POST', '/v1/transcribers', async () => {
          transcriberStarts++;
          const id = randomUUID();
          transcribers.add(id);
          return { transcriber_id: id, instance_id: 'summaries-suite-pm' };
        })
        // The transcriber watchdog's check: these transcribers run here.
        .add('GET', '/v1/transcribers', async () => ({ instance_id: 'summaries-suite-pm', result: [...transcribers].map((id) => ({ transcriber_id: id })) }))
        .add('POST', '/v1/transcribers/:id/stop', async ({ params }) => {
          transcribers.delete(params.id!);
          return { stopped: true };
        })
        .add('POST', '/v1/summaries', async ({ data }) => {
          const request = data as SummaryRequest;
          summaryRequests.push(request);
          if (request.ai.engine_model === 'openai.broken') throw appError('PROVIDER_ERROR', 'The LLM gave no summary: 401 Incorrect API key provided');
          const said = request.transcripts.map((entry) => `${entry.direction}: ${entry.text}`).join(' | ');
          return { summary_id: request.summary_id, content: `Summary in ${request.language} by ${request.ai.engine_model}: ${said}`, provider: request.ai.engine_model };
        });
      const { harness } = get();
      servers.push(await harness.bus.serve('flow-manager', flowManager.handle), await harness.bus.serve('pipeline-manager', pipelineManager.handle, { instanceId: 'summaries-suite-pm' }));
    });
    afterAll(async () => {
      for (const server of servers) await server.close();
    });

    const liveCall = (customerId: string) => {
      const id = randomUUID();
      calls.set(id, { customer_id: customerId, status: 'progressing' });
      return id;
    };
    const summaryOf = async (key: string, id: string) => (await call(get().harness, 'GET', `/v1.0/aisummaries/${id}`, { key })).body;
    const settled = (key: string, id: string) => eventually(async () => {
      const summary = await summaryOf(key, id);
      return summary.status !== 'progressing' ? summary : undefined;
    });

    it('summarises a live call once its transcription of both sides ends; a repeat answers the same summary; another language reuses the transcription', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness, 'summaries');
      const callId = liveCall(customer.id);
      const startsBefore = transcriberStarts;
      const first = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'call', reference_id: callId } });
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ reference_type: 'call', reference_id: callId, status: 'progressing', content: '', failure_reason: '', language: '', ai_id: null, activeflow_id: null });
      expect(transcriberStarts - startsBefore).toBe(2); // one transcriber per side
      const transcribe = await call(harness, 'GET', `/v1.0/transcribes/${first.body.transcribe_id}`, { key: customer.key });
      expect(transcribe.body).toMatchObject({ reference_type: 'call', reference_id: callId, direction: 'both', status: 'progressing' });

      const repeat = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'call', reference_id: callId.toUpperCase() } });
      expect(repeat.body).toEqual(first.body);
      const german = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'call', reference_id: callId, language: 'de-DE' } });
      expect(german.body.id).not.toBe(first.body.id);
      expect(german.body.transcribe_id).toBe(first.body.transcribe_id);
      expect(transcriberStarts - startsBefore).toBe(2);

      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/transcripts', { transcribe_id: first.body.transcribe_id, customer_id: customer.id, direction: 'in', text: 'My order never came.', offset_ms: 1000 });
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/transcripts', { transcribe_id: first.body.transcribe_id, customer_id: customer.id, direction: 'out', text: 'I will resend it.', offset_ms: 3000 });
      // The call hangs up: TranscribeService ends the transcription (transcribe_done).
      await call(harness, 'POST', `/v1.0/transcribes/${first.body.transcribe_id}/stop`, { key: customer.key });
      const done = await settled(customer.key, first.body.id);
      expect(done).toMatchObject({ status: 'done', failure_reason: '', content: 'Summary in en-US by local: in: My order never came. | out: I will resend it.' });
      expect((await settled(customer.key, german.body.id)).content).toMatch(/^Summary in de-DE by local/);
      expect(summaryRequests.find((request) => request.summary_id === first.body.id)).toMatchObject({ customer_id: customer.id, variables: {}, ai: { engine_model: 'local' } });
      const eventsOf = (id: string) => harness.events.filter((event) => event.type.startsWith('summary_') && (event.data as { id: string }).id === id).map((event) => [event.type, (event.data as { status: string }).status]);
      await eventually(() => eventsOf(first.body.id).length >= 2);
      expect(eventsOf(first.body.id)).toEqual([
        ['summary_created', 'progressing'],
        ['summary_updated', 'done'],
      ]);

      // Listed and deleted like any resource; deleted, the same request asks afresh.
      expect((await call(harness, 'GET', '/v1.0/aisummaries', { key: customer.key })).body.result.map((summary: { id: string }) => summary.id).sort()).toEqual([first.body.id, german.body.id].sort());
      expect((await call(harness, 'DELETE', `/v1.0/aisummaries/${german.body.id}`, { key: customer.key })).body.tm_delete).not.toBeNull();
      expect((await call(harness, 'GET', `/v1.0/aisummaries/${german.body.id}`, { key: customer.key })).status).toBe(404);
      await eventually(() => harness.events.some((event) => event.type === 'summary_deleted' && (event.data as { id: string }).id === german.body.id));
    });

    it("refuses a conference (400), another customer's or a missing call, transcription, flow or AI (404 alike) and an ended call (409), storing nothing", async () => {
      const { harness, database } = get();
      const owner = await createTestCustomer(harness, 'summary-owner');
      const other = await createTestCustomer(harness, 'summary-other');
      const conference = await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: { reference_type: 'conference', reference_id: randomUUID() } });
      expect(conference.status).toBe(400);
      expect(conference.body.error).toMatchObject({ reason: 'VALIDATION_FAILED', message: expect.stringMatching(/this platform has no conferences/) });
      const flowId = randomUUID();
      flows.set(flowId, owner.id);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      const ownerCall = liveCall(owner.id);
      const ownerTranscription = await storeTranscription(database, owner.id);
      const otherCall = liveCall(other.id);
      const cases: [Record<string, unknown>, Record<string, unknown>][] = [
        [{ reference_type: 'call', reference_id: ownerCall }, { reference_type: 'call', reference_id: randomUUID() }],
        [{ reference_type: 'transcribe', reference_id: ownerTranscription }, { reference_type: 'transcribe', reference_id: randomUUID() }],
        [{ reference_type: 'call', reference_id: otherCall, on_end_flow_id: flowId }, { reference_type: 'call', reference_id: otherCall, on_end_flow_id: randomUUID() }],
        [{ reference_type: 'call', reference_id: otherCall, ai_id: ai.body.id }, { reference_type: 'call', reference_id: otherCall, ai_id: randomUUID() }],
      ];
      const startsBefore = transcriberStarts;
      for (const [foreign, missing] of cases) {
        const [foreignAnswer, missingAnswer] = [await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: foreign }), await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: missing })];
        expect(foreignAnswer.status, JSON.stringify(foreign)).toBe(404);
        expect(foreignAnswer.body.error.message).toBe(missingAnswer.body.error.message);
      }
      calls.set(otherCall, { customer_id: other.id, status: 'hangup' });
      expect((await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: { reference_type: 'call', reference_id: otherCall } })).status).toBe(409);
      expect(transcriberStarts).toBe(startsBefore);
      expect((await call(harness, 'GET', '/v1.0/aisummaries', { key: other.key })).body.result).toEqual([]);
      // The owner's own transcription is summarised for the owner, who sees it; the other customer does not.
      const own = await call(harness, 'POST', '/v1.0/aisummaries', { key: owner.key, body: { reference_type: 'transcribe', reference_id: ownerTranscription } });
      expect(own.status).toBe(200);
      expect((await call(harness, 'GET', `/v1.0/aisummaries/${own.body.id}`, { key: other.key })).status).toBe(404);
    });

    it('writes a done transcription at once with the AI named (its engine and key), and fails with the reason when its LLM fails', async () => {
      const { harness, database } = get();
      const customer = await createTestCustomer(harness, 'summary-ai');
      const transcripts = [{ direction: 'in' as const, message: 'Cancel my subscription.', offset_ms: 500 }];
      const broken = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ engine_model: 'openai.broken' }) });
      const failing = await call(harness, 'POST', '/v1.0/aisummaries', {
        key: customer.key,
        body: { reference_type: 'transcribe', reference_id: await storeTranscription(database, customer.id, { status: 'done', transcripts }), ai_id: broken.body.id },
      });
      expect(failing.body).toMatchObject({ status: 'progressing', ai_id: broken.body.id });
      const failed = await settled(customer.key, failing.body.id);
      expect(failed).toMatchObject({ status: 'failed', content: '', failure_reason: expect.stringMatching(/Incorrect API key/) });
      expect(summaryRequests.find((request) => request.summary_id === failing.body.id)?.ai).toEqual({ engine_model: 'openai.broken', engine_key: secretEngineKey });
      const updated = await eventually(() => harness.events.find((event) => event.type === 'summary_updated' && (event.data as { id: string }).id === failing.body.id));
      expect(updated.data).toMatchObject({ status: 'failed', failure_reason: failed.failure_reason });

      // The transcription's language when none is asked for; the on-end flow starts with the summary's variables.
      const flowId = randomUUID();
      flows.set(flowId, customer.id);
      const working = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ engine_model: 'openai.gpt-4o-mini' }) });
      const transcribeId = await storeTranscription(database, customer.id, { status: 'done', language: 'ja-JP', transcripts });
      const asked = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'transcribe', reference_id: transcribeId, ai_id: working.body.id, on_end_flow_id: flowId } });
      const done = await settled(customer.key, asked.body.id);
      expect(done).toMatchObject({ status: 'done', content: 'Summary in ja-JP by openai.gpt-4o-mini: in: Cancel my subscription.' });
      const start = await eventually(() => flowStarts.find((entry) => entry.reference_id === asked.body.id));
      expect(start).toEqual({
        customer_id: customer.id,
        flow_id: flowId,
        reference_type: 'ai',
        reference_id: asked.body.id,
        variables: {
          'voipbin.ai_summary.id': asked.body.id,
          'voipbin.ai_summary.reference_type': 'transcribe',
          'voipbin.ai_summary.reference_id': transcribeId,
          'voipbin.ai_summary.language': 'ja-JP',
          'voipbin.ai_summary.content': done.content,
        },
      });
    });

    it("ai_summary in a flow: the flow's own call by default, the flow's variables and language, and answers at once; another customer's activeflow is a 404", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness, 'summary-flow');
      const other = await createTestCustomer(harness, 'summary-flow-other');
      const callId = liveCall(customer.id);
      const activeflowId = randomUUID();
      activeflows.set(activeflowId, { customer_id: customer.id, reference_type: 'call', reference_id: callId });
      variables.set(activeflowId, { 'voipbin.summary.language': 'fr-FR', order: '17' });
      const answer = await rpcCall<{ id: string; type: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/summary', {
        customer_id: customer.id,
        activeflow_id: activeflowId,
        reference_type: 'call',
        language: '',
      });
      expect(answer).toEqual({ id: expect.any(String), type: 'ai_summary', push_actions: [] });
      const summary = await summaryOf(customer.key, answer.id);
      expect(summary).toMatchObject({ activeflow_id: activeflowId, reference_type: 'call', reference_id: callId, status: 'progressing' });
      await call(harness, 'POST', `/v1.0/transcribes/${summary.transcribe_id}/stop`, { key: customer.key });
      expect((await settled(customer.key, answer.id)).status).toBe('done');
      expect(summaryRequests.find((request) => request.summary_id === answer.id)).toMatchObject({ language: 'fr-FR', variables: { order: '17' }, transcripts: [] });

      await expect(
        rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/services/type/summary', { customer_id: other.id, activeflow_id: activeflowId, reference_type: 'call', reference_id: callId }),
      ).rejects.toMatchObject({ httpStatus: 404 });
      // A summary that cannot be asked for (a conference) lets the flow go on: no id.
      const conference = await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/services/type/summary', { customer_id: customer.id, activeflow_id: activeflowId, reference_type: 'conference', reference_id: randomUUID() });
      expect(conference).toEqual({ id: '', type: 'ai_summary', push_actions: [] });
    });

    it("summarises a recording once its file is transcribed; another customer's recording is a 404 like a missing one", async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness, 'summary-recording');
      const other = await createTestCustomer(harness, 'summary-recording-other');
      const recordingId = randomUUID();
      recordings.set(recordingId, { customer_id: customer.id, status: 'ended' });
      const startsBefore = transcriberStarts;
      const foreign = await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: { reference_type: 'recording', reference_id: recordingId } });
      const missing = await call(harness, 'POST', '/v1.0/aisummaries', { key: other.key, body: { reference_type: 'recording', reference_id: randomUUID() } });
      expect([foreign.status, foreign.body.error.message]).toEqual([404, missing.body.error.message]);
      expect(transcriberStarts).toBe(startsBefore);

      const asked = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'recording', reference_id: recordingId, language: 'en-GB' } });
      expect(asked.body).toMatchObject({ status: 'progressing', reference_type: 'recording', reference_id: recordingId });
      expect(transcriberStarts - startsBefore).toBe(2);
      const transcribe = (await call(harness, 'GET', `/v1.0/transcribes/${asked.body.transcribe_id}`, { key: customer.key })).body;
      expect(transcribe).toMatchObject({ reference_type: 'recording', reference_id: recordingId, direction: 'both', language: 'en-GB' });
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/transcripts', { transcribe_id: transcribe.id, customer_id: customer.id, direction: 'in', text: 'Please call me back.', offset_ms: 200 });
      // The file has been heard (here: the transcription is stopped; transcribe_done either way).
      await call(harness, 'POST', `/v1.0/transcribes/${transcribe.id}/stop`, { key: customer.key });
      expect(await settled(customer.key, asked.body.id)).toMatchObject({ status: 'done', content: 'Summary in en-GB by local: in: Please call me back.' });
    });

    it('writes, at start, a summary left progressing after its transcription ended (a crash in between)', async () => {
      const { harness, database } = get();
      const customer = await createTestCustomer(harness, 'summary-sweep');
      const transcribeId = await storeTranscription(database, customer.id, { transcripts: [{ direction: 'in', message: 'Hello?', offset_ms: 0 }] });
      const asked = await call(harness, 'POST', '/v1.0/aisummaries', { key: customer.key, body: { reference_type: 'transcribe', reference_id: transcribeId } });
      // The transcription ends while no ai-manager hears it: nothing writes the summary ...
      await database.forSchema('ai_manager').updateTable('transcribes' as never).set({ status: 'done' } as never).where('id' as never, '=', transcribeId as never).execute();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await summaryOf(customer.key, asked.body.id)).status).toBe('progressing');
      // ... until an ai-manager starts (or its periodic sweep comes round).
      const restarted = await startHarness(database, { summaries: { sweepIntervalMs: 0 } }, harness.bus);
      try {
        expect(await settled(customer.key, asked.body.id)).toMatchObject({ status: 'done', content: 'Summary in en-US by local: in: Hello?' });
      } finally {
        await restarted.stop();
      }
    });
  });
}
