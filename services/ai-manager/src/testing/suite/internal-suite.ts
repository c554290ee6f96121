import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rpcCall } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { aiBody, call, createTestCustomer, eventually } from '../harness.ts';
import type { GetContext } from './context.ts';

/** ai-manager's routes on the bus, for the other services. */
export function internalSuite(get: GetContext): void {
  describe('bus routes', () => {
    it('verifies access keys for other services', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const verified = await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/accesskeys/verify', { key: customer.key });
      expect(verified).toEqual({ customer_id: customer.id, accesskey_id: customer.keyId });
      await expect(rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/accesskeys/verify', { key: 'avp_nope' })).rejects.toMatchObject({
        reason: 'INVALID_CREDENTIALS',
      });
      await expect(rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/accesskeys/verify', {})).rejects.toMatchObject({
        reason: 'VALIDATION_FAILED',
      });
    });

    it('reads an AI for its customer only, without the engine key', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const other = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const read = await rpcCall(harness.bus, 'ai-manager', 'GET', `/v1/ais/${ai.body.id}?customer_id=${customer.id}`);
      expect(read).toEqual(ai.body);
      await expect(rpcCall(harness.bus, 'ai-manager', 'GET', `/v1/ais/${ai.body.id}?customer_id=${other.id}`)).rejects.toMatchObject({
        reason: 'RESOURCE_NOT_FOUND',
      });
    });

    it('streams intermediate answer pieces to WebSocket subscribers', async () => {
      const { harness } = get();
      const customer = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: customer.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      const socket = new WebSocket(`${harness.url.replace('http', 'ws')}/v1.0/ws`, { headers: { authorization: `Bearer ${customer.key}` } });
      const received: { type: string; data?: { content?: string; sequence?: number } }[] = [];
      socket.on('message', (raw) => received.push(JSON.parse(raw.toString())));
      await once(socket, 'open');
      try {
        socket.send(JSON.stringify({ type: 'subscribe', topics: [`customer_id:${customer.id}:aimessage`] }));
        await eventually(() => received.find((message) => message.type === 'subscribed'));
        const piece = {
          id: randomUUID(),
          customer_id: customer.id,
          aicall_id: aicall.body.id,
          activeflow_id: null,
          active_ai_id: ai.body.id,
          role: 'assistant',
          content: 'Hel',
          direction: 'incoming',
          sequence: 1,
        };
        await rpcCall(harness.bus, 'ai-manager', 'POST', '/v1/aimessages/intermediate', piece);
        const pushed = await eventually(() => received.find((message) => message.type === 'aimessage_intermediate'));
        expect(pushed.data).toEqual(piece);
      } finally {
        socket.close();
      }
    });

    it("acts on an AIcall only for the customer it names: another customer's is a 404, like a missing one", async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const stranger = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody({ tool_names: ['all'] }) });
      // A record-only AIcall (initiating, no messages), as a pipeline's requests over the bus find it.
      const aicall = await call(harness, 'POST', '/v1.0/aicalls', {
        key: owner.key,
        body: { assistance_type: 'ai', assistance_id: ai.body.id, reference_type: 'conversation', reference_id: randomUUID() },
      });
      const id = aicall.body.id as string;
      const outcome = (method: 'GET' | 'POST', uri: string, data?: unknown) =>
        rpcCall(harness.bus, 'ai-manager', method, uri, data).then(
          () => 'ok',
          (error: { reason?: string }) => error.reason,
        );
      const piece = { id: randomUUID(), aicall_id: id, activeflow_id: null, active_ai_id: ai.body.id, role: 'assistant', content: 'Hel', direction: 'incoming', sequence: 1 };
      const usage = { id: randomUUID(), aicall_id: id, kind: 'llm', provider: 'test.model', input_tokens: 1_000_000 };

      expect({
        read: await outcome('GET', `/v1/aicalls/${id}?customer_id=${stranger.id}`),
        status: await outcome('POST', `/v1/aicalls/${id}/status`, { customer_id: stranger.id, status: 'progressing' }),
        message: await outcome('POST', '/v1/aimessages', { customer_id: stranger.id, aicall_id: id, role: 'assistant', direction: 'incoming', content: 'hi' }),
        intermediate: await outcome('POST', '/v1/aimessages/intermediate', { ...piece, customer_id: stranger.id }),
        usage: await outcome('POST', '/v1/usages', { ...usage, customer_id: stranger.id }),
      }).toEqual({ read: 'RESOURCE_NOT_FOUND', status: 'RESOURCE_NOT_FOUND', message: 'RESOURCE_NOT_FOUND', intermediate: 'RESOURCE_NOT_FOUND', usage: 'RESOURCE_NOT_FOUND' });
      // A tool call answers the LLM with a result, never an error: the AIcall "does not exist".
      const tool = await rpcCall(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${id}/tool_execute`, {
        customer_id: stranger.id,
        id: 'call-1',
        name: 'get_aicall_messages',
        arguments: JSON.stringify({ aicall_id: id }),
      });
      expect(tool).toMatchObject({ result: 'failed', message: 'The AI conversation does not exist.' });
      // Without a customer the request is refused outright.
      expect(await outcome('GET', `/v1/aicalls/${id}`)).toBe('VALIDATION_FAILED');
      expect(await outcome('POST', `/v1/aicalls/${id}/status`, { status: 'progressing' })).toBe('VALIDATION_FAILED');

      // Nothing changed, nothing was charged; the owner's own requests still work.
      const read = await call(harness, 'GET', `/v1.0/aicalls/${id}`, { key: owner.key });
      expect(read.body).toMatchObject({ status: 'initiating', cost: 0 });
      expect((await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${id}`, { key: owner.key })).body.result).toEqual([]);
      const strangerAccount = await call(harness, 'GET', '/v1.0/billing-accounts', { key: stranger.key });
      expect(strangerAccount.body.result[0].balance).toBe((await call(harness, 'GET', '/v1.0/billing-accounts', { key: owner.key })).body.result[0].balance);
      expect(await outcome('GET', `/v1/aicalls/${id}?customer_id=${owner.id}`)).toBe('ok');
      expect(await outcome('POST', `/v1/aicalls/${id}/status`, { customer_id: owner.id, status: 'progressing' })).toBe('ok');
      expect(await outcome('POST', '/v1/aimessages/intermediate', { ...piece, customer_id: owner.id })).toBe('ok');
      expect(await outcome('POST', '/v1/usages', { ...usage, customer_id: owner.id })).toBe('ok');
    });
  });
}
