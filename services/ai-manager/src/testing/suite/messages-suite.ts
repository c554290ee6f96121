import { randomUUID } from 'node:crypto';
import { rpcCall } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually } from '../harness.ts';
import type { GetContext } from './context.ts';

/** `/v1.0/aimessages` (summaries: summaries-suite.ts). */
export function messagesSuite(get: GetContext): void {
  describe('AI messages', () => {
    it('sends a user message into a session, lists and reads it', async () => {
      const { harness } = get();
      const { key, id: customerId } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      const sent = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: aicall.body.id, role: 'user', content: 'hello' } });
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({
        customer_id: customerId,
        aicall_id: aicall.body.id,
        active_ai_id: ai.body.id,
        role: 'user',
        direction: 'outgoing',
        content: 'hello',
        tool_calls: [],
        tool_call_id: '',
      });
      const event = await eventually(() =>
        harness.events.find((candidate) => candidate.type === 'aimessage_created' && (candidate.data as { id: string }).id === sent.body.id),
      );
      expect(event.data).toEqual(sent.body);
      // A pipeline-side assistant message over the bus.
      const answer = await rpcCall<{ id: string }>(harness.bus, 'ai-manager', 'POST', '/v1/aimessages', {
        customer_id: customerId,
        aicall_id: aicall.body.id,
        role: 'assistant',
        direction: 'incoming',
        content: 'hi there',
      });
      // A text AIcall also holds its system prompts, and a notification when its own answer
      // cannot be written (no pipeline-manager here): this test is about the conversation's turns.
      const list = await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicall.body.id}`, { key });
      const turns = list.body.result.filter((message: { role: string }) => message.role === 'user' || message.role === 'assistant');
      expect(turns.map((message: { id: string }) => message.id)).toEqual([answer.id, sent.body.id]);
      expect(turns[1]).toEqual(sent.body);
      expect((await call(harness, 'GET', `/v1.0/aimessages/${sent.body.id}`, { key })).body).toEqual(sent.body);
    });

    it('notes on a text AIcall when its answer cannot be written, and keeps the user message', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      // reference_type "": a text AIcall, answered through pipeline-manager, which this harness does not run.
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      expect(aicall.body).toMatchObject({ reference_type: '', status: 'progressing' });
      const sent = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: aicall.body.id, content: 'are you there?' } });
      expect(sent.status).toBe(200);
      expect(sent.body).toMatchObject({ aicall_id: aicall.body.id, role: 'user', direction: 'outgoing', content: 'are you there?' });
      type Listed = { id: string; role: string; direction: string; content: string };
      const listed = async () => (await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${aicall.body.id}`, { key })).body.result as Listed[];
      const notification = await eventually(async () =>
        (await listed()).find((message) => message.role === 'notification' && message.content.startsWith('No answer could be written')),
      );
      expect(notification).toMatchObject({ direction: 'incoming', content: expect.stringMatching(/^No answer could be written: \S/) });
      const after = await listed();
      // Newest first: the notification came after the message, which is still stored as it was sent; nothing answered it.
      expect(after.findIndex((message) => message.id === notification.id)).toBeLessThan(after.findIndex((message) => message.id === sent.body.id));
      expect(after.filter((message) => message.role === 'user' || message.role === 'assistant')).toEqual([sent.body]);
      expect((await call(harness, 'GET', `/v1.0/aimessages/${sent.body.id}`, { key })).body).toEqual(sent.body);
      // The AIcall goes on: a failed answer does not end it.
      expect((await call(harness, 'GET', `/v1.0/aicalls/${aicall.body.id}`, { key })).body.status).toBe('progressing');
    });

    it('requires aicall_id on the list and a user role and content on send', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const noCall = await call(harness, 'GET', '/v1.0/aimessages', { key });
      expect(noCall.status).toBe(400);
      expect(noCall.body.error.message).toContain('aicall_id');
      const system = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: randomUUID(), role: 'system', content: 'x' } });
      expect(system.status).toBe(400);
      expect(system.body.error.message).toContain('role');
      const empty = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: randomUUID(), content: '' } });
      expect(empty.status).toBe(400);
      expect(empty.body.error.message).toContain('content');
      const missing = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: randomUUID(), content: 'x' } });
      expect(missing.status).toBe(404);
    });

    it('refuses messages into an ended session with 409', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      await call(harness, 'POST', `/v1.0/aicalls/${aicall.body.id}/terminate`, { key });
      const late = await call(harness, 'POST', '/v1.0/aimessages', { key, body: { aicall_id: aicall.body.id, content: 'still there?' } });
      expect(late.status).toBe(409);
      expect(late.body.error.reason).toBe('INVALID_STATE');
    });
  });
}
