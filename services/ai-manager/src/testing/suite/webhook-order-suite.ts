import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookHeaders } from '../../webhooks/webhook-signature.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

interface Arrival {
  headers: IncomingHttpHeaders;
  body: { id: string; seq: number; type: string; data: { id: string } };
  /** What the receiver answered. */
  status: number;
}

type Answer = (arrival: Omit<Arrival, 'status'>, arrivals: Arrival[]) => Promise<number>;

/** A webhook receiver whose answer to each request is decided by `answer` (which may wait). */
async function startReceiver(answer: Answer): Promise<{ url: string; arrivals: Arrival[]; server: Server }> {
  const arrivals: Arrival[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const arrival = { headers: request.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Arrival['body'] };
      void answer(arrival, arrivals).then((status) => {
        arrivals.push({ ...arrival, status });
        response.statusCode = status;
        response.end();
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, arrivals, server };
}

/** Webhooks of one resource go out one at a time in event order; other resources do not wait. */
export function webhookOrderSuite(get: GetContext): void {
  describe('webhook order', () => {
    const cleanups: (() => Promise<void> | void)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    it('holds an AIcall\'s later events while its first one is retried, without holding another AIcall', async () => {
      const { harness, database } = get();
      // A second ai-manager process on the same database dispatches too: the order must hold across processes.
      const second: Harness = await startHarness(database);
      cleanups.push(() => second.stop());
      const { key } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const slow = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      const other = await call(harness, 'POST', '/v1.0/aicalls', { key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      let failedOnce = false;
      const receiver = await startReceiver(async (arrival, arrivals) => {
        if (failedOnce || arrival.body.data.id !== slow.body.id) return 200;
        failedOnce = true;
        // The slow AIcall's first delivery is held until the other AIcall's events are all in, then fails.
        await eventually(() => arrivals.filter((seen) => seen.body.data.id === other.body.id).length >= 2 || undefined).catch(() => undefined);
        return 500;
      });
      cleanups.push(() => void receiver.server.close());
      // Only the terminations are delivered: the webhook is set after the earlier events.
      await call(harness, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: receiver.url } });

      await call(harness, 'POST', `/v1.0/aicalls/${slow.body.id}/terminate`, { key });
      await eventually(() => failedOnce || undefined);
      await call(harness, 'POST', `/v1.0/aicalls/${other.body.id}/terminate`, { key });

      await eventually(() => (receiver.arrivals.length >= 5 ? true : undefined), 10_000);
      const of = (id: string) => receiver.arrivals.filter((arrival) => arrival.body.data.id === id);
      const order = (id: string) => of(id).map((arrival) => `${arrival.body.type}:${arrival.status}`);
      expect(order(slow.body.id)).toEqual(['aicall_status_terminating:500', 'aicall_status_terminating:200', 'aicall_status_terminated:200']);
      expect(order(other.body.id)).toEqual(['aicall_status_terminating:200', 'aicall_status_terminated:200']);
      // The other AIcall was delivered while the slow one's first attempt was still held.
      const failedAt = receiver.arrivals.findIndex((arrival) => arrival.status === 500);
      expect(receiver.arrivals.slice(0, failedAt).map((arrival) => arrival.body.data.id)).toEqual([other.body.id, other.body.id]);

      // Every delivery names its event; a retry names the same event, and the body carries it (signed).
      const [firstTry, retry, terminated] = of(slow.body.id);
      const eventIdOf = (arrival: Arrival) => String(arrival.headers[webhookHeaders.eventId]);
      expect(eventIdOf(firstTry!)).toMatch(/^[0-9a-f-]{36}$/);
      expect(eventIdOf(retry!)).toBe(eventIdOf(firstTry!));
      expect(retry!.body.id).toBe(eventIdOf(firstTry!));
      expect(eventIdOf(terminated!)).not.toBe(eventIdOf(firstTry!));
      expect(terminated!.body.seq).toBeGreaterThan(retry!.body.seq);
      const ids = receiver.arrivals.map(eventIdOf);
      expect(new Set(ids).size).toBe(4);
      // The id is the event's own: the bus carries the same id.
      const published = harness.events.find((event) => event.type === 'aicall_status_terminated' && (event.data as { id: string }).id === slow.body.id);
      expect(published?.id).toBe(eventIdOf(terminated!));
    });
  });
}
