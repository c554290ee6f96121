import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseSchema } from '../../app.ts';
import { verifyWebhook, webhookHeaders } from '../../webhooks/webhook-signature.ts';
import { aiBody, call, createTestCustomer, eventually, secretEngineKey, startHarness, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver answering with the given statuses in turn (then 200). */
async function startReceiver(statuses: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = statuses.shift() ?? 200;
      response.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, server };
}

/** Webhook delivery from the outbox: signature, retry, and survival across a restart. */
export function webhooksSuite(get: GetContext): void {
  describe('webhooks', () => {
    const servers: Server[] = [];
    afterEach(() => {
      for (const server of servers.splice(0)) server.close();
    });

    it('delivers signed events and retries after the receiver answers 500', async () => {
      const { harness, database } = get();
      const receiver = await startReceiver([500]);
      servers.push(receiver.server);
      const { key } = await createTestCustomer(harness);
      const customer = await call(harness, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: receiver.url } });
      expect(customer.body.webhook_uri).toBe(receiver.url);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });

      await eventually(() => receiver.received.length >= 2 || undefined);
      const [failed, delivered] = receiver.received;
      expect(failed!.body).toBe(delivered!.body);
      expect(delivered!.headers[webhookHeaders.delivery]).toBe(failed!.headers[webhookHeaders.delivery]);
      expect(delivered!.headers[webhookHeaders.event]).toBe('ai_created');
      const timestamp = Number(delivered!.headers[webhookHeaders.timestamp]);
      const signature = String(delivered!.headers[webhookHeaders.signature]);
      expect(verifyWebhook(customer.body.webhook_secret, timestamp, delivered!.body, signature)).toBe(true);
      expect(verifyWebhook('whsec_wrong', timestamp, delivered!.body, signature)).toBe(false);
      const eventId = String(delivered!.headers[webhookHeaders.eventId]);
      expect(failed!.headers[webhookHeaders.eventId]).toBe(eventId);
      expect(JSON.parse(delivered!.body)).toEqual({ id: eventId, seq: 1, type: 'ai_created', data: ai.body });
      expect(delivered!.body).not.toContain(secretEngineKey);
      expect(delivered!.body).not.toContain('"engine_key"');

      const row = await eventually(async () => {
        const rows = await sql<{ status: string; attempts: number }>`
          select status, attempts from ${sql.id(databaseSchema, 'webhook_deliveries')}
          where id = ${String(delivered!.headers[webhookHeaders.delivery])}`.execute(database.forSchema(databaseSchema));
        return rows.rows[0]?.status === 'delivered' ? rows.rows[0] : undefined;
      });
      expect(row.attempts).toBe(2);
      const metrics = await harness.metrics.getSingleMetricAsString('ai_manager_webhook_attempts_total');
      expect(metrics).toMatch(/outcome="retry"\} [1-9]/);
      expect(metrics).toMatch(/outcome="delivered"\} [1-9]/);
    });

    it('sends nothing for a customer without a webhook, and only its own events to each', async () => {
      const { harness } = get();
      const receiver = await startReceiver([]);
      servers.push(receiver.server);
      const silent = await createTestCustomer(harness, 'silent');
      const listening = await createTestCustomer(harness, 'listening');
      await call(harness, 'PUT', '/v1.0/customer', { key: listening.key, body: { webhook_uri: receiver.url } });
      await call(harness, 'POST', '/v1.0/ais', { key: silent.key, body: aiBody() });
      const own = await call(harness, 'POST', '/v1.0/ais', { key: listening.key, body: aiBody() });
      await eventually(() => receiver.received.length >= 1 || undefined);
      // Deliveries are made in order of creation, so the silent customer's would have come first.
      expect(receiver.received.map((delivery) => JSON.parse(delivery.body).data.id)).toEqual([own.body.id]);
    });

    it('keeps undelivered events across a restart', async () => {
      const { harness, database } = get();
      const receiver = await startReceiver([]);
      servers.push(receiver.server);
      const { key } = await createTestCustomer(harness);
      await call(harness, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: receiver.url } });
      // No dispatcher runs anywhere: the event waits in the outbox.
      await harness.service.stop();
      try {
        const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
        const pending = await sql<{ status: string; attempts: number }>`
          select status, attempts from ${sql.id(databaseSchema, 'webhook_deliveries')}
          where body like ${`%${ai.body.id}%`}`.execute(database.forSchema(databaseSchema));
        expect(pending.rows).toEqual([{ status: 'pending', attempts: 0 }]);
        expect(receiver.received).toEqual([]);
        // A new process on the same database delivers it.
        const restarted: Harness = await startHarness(database);
        try {
          await eventually(() => receiver.received.length >= 1 || undefined);
          expect(JSON.parse(receiver.received[0]!.body).data.id).toBe(ai.body.id);
        } finally {
          await restarted.stop();
        }
      } finally {
        await harness.service.start();
      }
    });
  });
}
