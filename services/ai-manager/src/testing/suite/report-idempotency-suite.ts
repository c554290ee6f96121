import { randomUUID } from 'node:crypto';
import { rpcCall } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

/**
 * A customer with a live AIcall (no call), as the pipeline's reports find it: a record-only
 * one (reference_type conversation, `initiating`, no messages), so that what the reports store
 * is all there is (a text AIcall, reference_type "", has its system prompts and is progressing).
 */
async function liveAicall(harness: Harness) {
  const { key, id: customerId } = await createTestCustomer(harness);
  const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
  const aicall = await call(harness, 'POST', '/v1.0/aicalls', {
    key,
    body: { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: 'conversation', reference_id: randomUUID() },
  });
  expect(aicall.body).toMatchObject({ status: 'initiating' });
  const aicallId = aicall.body.id as string;
  const stored = async () => ((await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicallId}`, { key })).body.result as { id: string; content: string }[]).reverse();
  const eventsOf = (type: string) => harness.events.filter((event) => event.type === type && JSON.stringify(event.data).includes(aicallId));
  return { key, customerId, aicallId, stored, eventsOf };
}

/**
 * The pipeline's reports carry an idempotency key (`report_id`) and are retried after a lost
 * reply or an outage: a repeated key stores nothing new and answers as the first time did.
 */
export function reportIdempotencySuite(get: GetContext): void {
  describe('idempotent reports from the pipeline', () => {
    const report = (harness: Harness, data: Record<string, unknown>) => rpcCall<{ id: string }>(harness.bus, 'ai-manager', 'POST', '/v1/aimessages', data);

    it('stores a message reported twice with the same report_id once, and answers the same message', async () => {
      const { harness } = get();
      const { customerId, aicallId, stored, eventsOf } = await liveAicall(harness);
      const message = { customer_id: customerId, aicall_id: aicallId, role: 'user', direction: 'outgoing', content: 'my name is Ada', report_id: randomUUID() };
      const first = await report(harness, message);
      const again = await report(harness, message);
      expect(again).toEqual(first);
      // Two at once, as when a retry overtakes a slow first attempt.
      const racing = { ...message, content: 'Tuesday', report_id: randomUUID() };
      const [one, two] = await Promise.all([report(harness, racing), report(harness, racing)]);
      expect(two).toEqual(one);
      expect((await stored()).map((entry) => entry.content)).toEqual(['my name is Ada', 'Tuesday']);
      await eventually(() => eventsOf('aimessage_created').length === 2);
      expect(eventsOf('aimessage_created').map((event) => (event.data as { id: string }).id)).toEqual([first.id, one.id]);
    });

    it('keeps reports with different keys apart, even with the same words', async () => {
      const { harness } = get();
      const { customerId, aicallId, stored } = await liveAicall(harness);
      const words = { customer_id: customerId, aicall_id: aicallId, role: 'user', direction: 'outgoing', content: 'yes' };
      await report(harness, { ...words, report_id: randomUUID() });
      await report(harness, { ...words, report_id: randomUUID() });
      expect((await stored()).map((entry) => entry.content)).toEqual(['yes', 'yes']);
    });

    it('stores a report that arrives after the session ended (it was made while it was live), once', async () => {
      const { harness } = get();
      const { key, customerId, aicallId, stored } = await liveAicall(harness);
      await call(harness, 'POST', `/v1.0/aicalls/${aicallId}/terminate`, { key });
      const late = { customer_id: customerId, aicall_id: aicallId, role: 'assistant', direction: 'incoming', content: 'Goodbye.', report_id: randomUUID() };
      const first = await report(harness, late);
      expect(await report(harness, late)).toEqual(first);
      expect((await stored()).map((entry) => entry.content)).toEqual(['Goodbye.']);
      // Without a key it is not a pipeline's report: an ended session takes no more messages.
      const { report_id: _key, ...unkeyed } = late;
      await expect(report(harness, unkeyed)).rejects.toMatchObject({ reason: 'INVALID_STATE' });
    });

    it('answers a repeated status report with the AIcall as it is, and publishes its event once', async () => {
      const { harness } = get();
      const { key, customerId, aicallId, eventsOf } = await liveAicall(harness);
      const status = { customer_id: customerId, status: 'progressing', report_id: randomUUID() };
      const first = await rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${aicallId}/status`, status);
      expect(await rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${aicallId}/status`, status)).toEqual(first);
      // A move that is not a repeat is still refused.
      await expect(rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${aicallId}/status`, { ...status, status: 'initiating' })).rejects.toMatchObject({
        reason: 'INVALID_STATE',
      });
      // Once the events of a later change are out, there was one progressing event only.
      await call(harness, 'POST', `/v1.0/aicalls/${aicallId}/terminate`, { key });
      await eventually(() => eventsOf('aicall_status_terminated').length === 1);
      expect(eventsOf('aicall_status_progressing')).toHaveLength(1);
    });

    it('publishes a streamed piece reported twice with the same report_id once', async () => {
      const { harness } = get();
      const { customerId, aicallId, eventsOf } = await liveAicall(harness);
      const piece = {
        id: randomUUID(),
        customer_id: customerId,
        aicall_id: aicallId,
        activeflow_id: null,
        active_ai_id: null,
        role: 'assistant',
        content: 'Hello',
        direction: 'incoming',
      };
      const first = { ...piece, sequence: 1, report_id: randomUUID() };
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages/intermediate', first);
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages/intermediate', first);
      await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages/intermediate', { ...piece, content: 'Hello there', sequence: 2, report_id: randomUUID() });
      await eventually(() => eventsOf('aimessage_intermediate').length === 2);
      expect(eventsOf('aimessage_intermediate').map((event) => (event.data as { sequence: number }).sequence)).toEqual([1, 2]);
    });
  });
}
