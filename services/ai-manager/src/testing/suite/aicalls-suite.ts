import { randomUUID } from 'node:crypto';
import { rpcCall } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

async function customerWithAi(harness: Harness) {
  const customer = await createTestCustomer(harness);
  const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
  return { ...customer, aiId: ai.body.id as string };
}

/** `/v1.0/aicalls`, the state machine and its events. */
export function aicallsSuite(get: GetContext): void {
  describe('AIcalls', () => {
    it('starts a session in initiating with a snapshot of the AI', async () => {
      const { harness } = get();
      const { key, id: customerId, aiId } = await customerWithAi(harness);
      const referenceId = randomUUID();
      const created = await call(harness, 'POST', '/v1.0/aicalls', {
        key,
        body: { assistance_type: 'ai', assistance_id: aiId, reference_type: 'conversation', reference_id: referenceId },
      });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        customer_id: customerId,
        assistance_type: 'ai',
        assistance_id: aiId,
        ai_engine_model: 'openai.gpt-4o-mini',
        // A text conversation keeps no voice settings.
        ai_tts_type: '',
        ai_stt_type: '',
        ai_smart_turn_enabled: false,
        stt_language: 'en-US',
        reference_type: 'conversation',
        reference_id: referenceId,
        status: 'initiating',
        tm_end: null,
      });
      const event = await eventually(() =>
        harness.events.find((candidate) => candidate.type === 'aicall_status_initiating' && (candidate.data as { id: string }).id === created.body.id),
      );
      expect(event.data).toEqual(created.body);
      expect((await call(harness, 'GET', `/v1.0/aicalls/${created.body.id}`, { key })).body).toEqual({ ...created.body, cost: 0 });
    });

    it('keeps voice settings out of a session that is not a call', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const created = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: aiId } });
      expect(created.body).toMatchObject({ reference_type: '', reference_id: null, ai_tts_type: '', ai_vad_config: {}, ai_turn_config: {} });
    });

    it('rejects a bad start: unknown AI, missing reference id, bad enum, bad uuid', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const unknownAi = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: randomUUID() } });
      expect(unknownAi.status).toBe(404);
      const noReference = await call(harness, 'POST', '/v1.0/aicalls', {
        key,
        body: { assistance_type: 'ai', assistance_id: aiId, reference_type: 'call' },
      });
      expect(noReference.status).toBe(400);
      expect(noReference.body.error.message).toContain('reference_id');
      const badType = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'robot', assistance_id: aiId } });
      expect(badType.status).toBe(400);
      expect(badType.body.error.message).toContain('assistance_type');
      const badId = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: 'x' } });
      expect(badId.status).toBe(400);
      expect(badId.body.error.message).toContain('assistance_id');
    });

    it('answers 404 for a voice session on a call that is not the customer\'s (or does not exist)', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const created = await call(harness, 'POST', '/v1.0/aicalls', {
        key,
        body: { assistance_type: 'ai', assistance_id: aiId, reference_type: 'call', reference_id: randomUUID() },
      });
      expect(created.status).toBe(404);
      expect(created.body.error).toMatchObject({ status: 'NOT_FOUND', reason: 'RESOURCE_NOT_FOUND', message: 'No call with this id.' });
      const list = await call(harness, 'GET', '/v1.0/aicalls', { key });
      expect(list.body.result).toEqual([]);
    });

    it('allows one live session per referenced conversation', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const body = { assistance_type: 'ai', assistance_id: aiId, reference_type: 'conversation', reference_id: randomUUID() };
      const first = await call(harness, 'POST', '/v1.0/aicalls', { key, body });
      expect(first.status).toBe(200);
      const second = await call(harness, 'POST', '/v1.0/aicalls', { key, body });
      expect(second.status).toBe(409);
      expect(second.body.error.reason).toBe('RESOURCE_ALREADY_EXISTS');
      await call(harness, 'POST', `/v1.0/aicalls/${first.body.id}/terminate`, { key });
      expect((await call(harness, 'POST', '/v1.0/aicalls', { key, body })).status).toBe(200);
    });

    it('runs initiating -> progressing -> terminating -> terminated with an event per step', async () => {
      const { harness } = get();
      const { key, aiId, id: customerId } = await customerWithAi(harness);
      // A record-only AIcall: its status is driven over the bus, as a pipeline does (a text AIcall, reference_type "", is progressing at once).
      const created = await call(harness, 'POST', '/v1.0/aicalls', {
        key,
        body: { assistance_type: 'ai', assistance_id: aiId, reference_type: 'conversation', reference_id: randomUUID() },
      });
      expect(created.body.status).toBe('initiating');
      const id = created.body.id as string;
      const progressing = await rpcCall<{ status: string }>(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${id}/status`, {
        customer_id: customerId,
        status: 'progressing',
      });
      expect(progressing.status).toBe('progressing');
      const terminated = await call(harness, 'POST', `/v1.0/aicalls/${id}/terminate`, { key });
      expect(terminated.status).toBe(200);
      expect(terminated.body.status).toBe('terminated');
      expect(terminated.body.tm_end).toMatch(/Z$/);
      const types = await eventually(() => {
        const seen = harness.events.filter((event) => (event.data as { id?: string }).id === id).map((event) => event.type);
        return seen.length === 4 ? seen : undefined;
      });
      expect(types).toEqual([
        'aicall_status_initiating',
        'aicall_status_progressing',
        'aicall_status_terminating',
        'aicall_status_terminated',
      ]);
      // Terminating again changes nothing; moving out of terminated is refused.
      const again = await call(harness, 'POST', `/v1.0/aicalls/${id}/terminate`, { key });
      expect(again.body).toEqual(terminated.body);
      await expect(
        rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${id}/status`, { customer_id: customerId, status: 'progressing' }),
      ).rejects.toMatchObject({ reason: 'INVALID_STATE' });
      await expect(
        rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${id}/status`, { customer_id: customerId, status: 'paused' }),
      ).rejects.toMatchObject({ reason: 'VALIDATION_FAILED' });
    });

    it('ends an AIcall terminated from several places at once exactly once, each answered with it', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const created = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: aiId } });
      const id = created.body.id as string;
      // A hang-up and the pipeline's end often arrive together: neither may fail.
      const answers = await Promise.all([1, 2, 3, 4].map(() => call(harness, 'POST', `/v1.0/aicalls/${id}/terminate`, { key })));
      expect(answers.map((answer) => [answer.status, answer.body.status])).toEqual([
        [200, 'terminated'],
        [200, 'terminated'],
        [200, 'terminated'],
        [200, 'terminated'],
      ]);
      const types = await eventually(() => {
        const seen = harness.events.filter((event) => (event.data as { id?: string }).id === id).map((event) => event.type);
        return seen.includes('aicall_status_terminated') ? seen : undefined;
      });
      expect(types.filter((type) => type === 'aicall_status_terminating')).toHaveLength(1);
      expect(types.filter((type) => type === 'aicall_status_terminated')).toHaveLength(1);
    });

    it('lists with status, reference_type and reference_id filters, and soft-deletes', async () => {
      const { harness } = get();
      const { key, aiId } = await customerWithAi(harness);
      const referenceId = randomUUID();
      const onCall = await call(harness, 'POST', '/v1.0/aicalls', {
        key,
        body: { assistance_type: 'ai', assistance_id: aiId, reference_type: 'conversation', reference_id: referenceId },
      });
      const plain = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: aiId } });
      await call(harness, 'POST', `/v1.0/aicalls/${plain.body.id}/terminate`, { key });
      const ids = async (query: string) =>
        (await call(harness, 'GET', `/v1.0/aicalls${query}`, { key })).body.result.map((aicall: { id: string }) => aicall.id);
      expect(await ids('')).toEqual([plain.body.id, onCall.body.id]);
      expect(await ids('?status=terminated')).toEqual([plain.body.id]);
      expect(await ids('?reference_type=conversation')).toEqual([onCall.body.id]);
      expect(await ids(`?reference_id=${referenceId}`)).toEqual([onCall.body.id]);
      expect((await call(harness, 'GET', '/v1.0/aicalls?status=sleeping', { key })).status).toBe(400);
      const deleted = await call(harness, 'DELETE', `/v1.0/aicalls/${plain.body.id}`, { key });
      expect(deleted.body.tm_delete).not.toBeNull();
      expect(await ids('')).toEqual([onCall.body.id]);
      expect((await call(harness, 'GET', `/v1.0/aicalls/${plain.body.id}`, { key })).status).toBe(404);
    });
  });
}
