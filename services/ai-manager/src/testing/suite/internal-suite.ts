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
  });
}
