import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { databaseSchema } from '../../app.ts';
import { aiBody, call, createTestCustomer, eventually, secretEngineKey, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

/** A WebSocket client that collects every message it receives. */
async function connect(harness: Harness, key: string) {
  const socket = new WebSocket(`${harness.url.replace('http', 'ws')}/v1.0/ws?token=${key}`);
  const received: { type: string; data?: { id?: string; customer_id?: string }; topics?: string[]; message?: string }[] = [];
  socket.on('message', (raw) => received.push(JSON.parse(raw.toString())));
  await once(socket, 'open');
  return {
    socket,
    received,
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    next: (predicate: (message: (typeof received)[number]) => boolean) => eventually(() => received.find(predicate)),
  };
}

/** Events on the bus and over WebSocket. */
export function realtimeSuite(get: GetContext): void {
  describe('events and WebSocket', () => {
    it('publishes an event per change, none carrying the engine key', async () => {
      const { harness } = get();
      const { key } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key, body: aiBody({ name: 'new name' }) });
      await call(harness, 'DELETE', `/v1.0/ais/${ai.body.id}`, { key });
      const types = await eventually(() => {
        const seen = harness.events.filter((event) => (event.data as { id?: string }).id === ai.body.id).map((event) => event.type);
        return seen.length === 3 ? seen : undefined;
      });
      expect(types).toEqual(['ai_created', 'ai_updated', 'ai_deleted']);
      const everything = JSON.stringify(harness.events);
      expect(everything).not.toContain(secretEngineKey);
      expect(everything).not.toContain('"engine_key"');
      expect(everything).toContain('"engine_key_set":true');
    });

    it('marks outbox rows published and keeps them for replay, and publishes rows a dead process left', async () => {
      const { harness, database } = get();
      const db = database.forSchema(databaseSchema);
      const outbox = sql.id(databaseSchema, 'event_outbox');
      const { key, id: customerId } = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key, body: aiBody() });
      const kept = await eventually(async () => {
        const rows = await sql<{ id: string; seq: number; customer_id: string }>`
          select id, seq, customer_id from ${outbox} where data like ${`%${ai.body.id}%`} and published_at is not null`.execute(db);
        return rows.rows[0];
      });
      expect(kept).toEqual({ id: expect.any(String), seq: 1, customer_id: customerId });
      expect(harness.events.find((event) => (event.data as { id?: string }).id === ai.body.id)).toMatchObject({ id: kept.id, seq: 1 });
      // A row written by a process that died before publishing it: published with its own id and number.
      const orphan = { id: randomUUID(), customer_id: customerId, name: 'left behind' };
      const orphanId = randomUUID();
      await sql`insert into ${outbox} (id, event_type, data, tm_create, customer_id, seq)
        values (${orphanId}, 'ai_updated', ${JSON.stringify(orphan)}, clock_timestamp() - interval '1 minute', ${customerId}, 2)`.execute(db);
      const republished = await eventually(() =>
        harness.events.find((event) => (event.data as { id?: string }).id === orphan.id),
      );
      expect(republished).toMatchObject({ type: 'ai_updated', publisher: 'ai-manager', data: orphan, id: orphanId, seq: 2 });
      await eventually(async () => {
        const left = await sql<{ id: string }>`select id from ${outbox} where id = ${orphanId} and published_at is not null`.execute(db);
        return left.rows.length === 1 || undefined;
      });
    });

    it('pushes subscribed events to the customer, and none of them to another customer', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness, 'owner');
      const other = await createTestCustomer(harness, 'other');
      const ownerClient = await connect(harness, owner.key);
      const otherClient = await connect(harness, other.key);
      try {
        ownerClient.send({ type: 'subscribe', topics: [`customer_id:${owner.id}:ai`] });
        await ownerClient.next((message) => message.type === 'subscribed');
        // Subscribing to someone else's topics is refused; the other customer listens to all of its own.
        otherClient.send({ type: 'subscribe', topics: [`customer_id:${owner.id}`] });
        const refused = await otherClient.next((message) => message.type === 'error');
        expect(refused.message).toContain(owner.id);
        otherClient.send({ type: 'subscribe', topics: [`customer_id:${other.id}`] });
        await otherClient.next((message) => message.type === 'subscribed');

        const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
        const pushed = await ownerClient.next((message) => message.type === 'ai_created');
        expect(pushed.data).toEqual(ai.body);
        // aicall events do not match the owner's `ai` topic.
        const aicall = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
        await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody() });
        await ownerClient.next((message) => message.type === 'ai_updated');
        expect(ownerClient.received.some((message) => message.type.startsWith('aicall'))).toBe(false);
        expect(aicall.status).toBe(200);

        // The other customer's first push is its own event: nothing of the owner's came before it.
        const own = await call(harness, 'POST', '/v1.0/ais', { key: other.key, body: aiBody() });
        const first = await otherClient.next((message) => message.type === 'ai_created');
        expect(first.data?.id).toBe(own.body.id);
        expect(otherClient.received.filter((message) => message.data).every((message) => message.data?.customer_id === other.id)).toBe(true);
        expect(JSON.stringify([...ownerClient.received, ...otherClient.received])).not.toContain(secretEngineKey);

        // After unsubscribing, nothing more arrives for that topic.
        ownerClient.send({ type: 'unsubscribe', topics: [`customer_id:${owner.id}:ai`] });
        const unsubscribed = await ownerClient.next((message) => message.type === 'unsubscribed');
        expect(unsubscribed.topics).toEqual([]);
      } finally {
        ownerClient.socket.close();
        otherClient.socket.close();
      }
    });

    it('subscribes to one resource by id', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      const first = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      const second = await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      const client = await connect(harness, owner.key);
      try {
        client.send({ type: 'subscribe', topics: [`customer_id:${owner.id}:aicall:${second.body.id}`] });
        await client.next((message) => message.type === 'subscribed');
        await call(harness, 'POST', `/v1.0/aicalls/${first.body.id}/terminate`, { key: owner.key });
        await call(harness, 'POST', `/v1.0/aicalls/${second.body.id}/terminate`, { key: owner.key });
        await client.next((message) => message.type === 'aicall_status_terminated');
        const ids = new Set(client.received.filter((message) => message.data).map((message) => message.data?.id));
        expect([...ids]).toEqual([second.body.id]);
      } finally {
        client.socket.close();
      }
    });

    it('answers bad client messages with an error and keeps the connection', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const client = await connect(harness, owner.key);
      try {
        client.socket.send('not json');
        await client.next((message) => message.type === 'error' && message.message === 'messages must be JSON');
        client.send({ type: 'subscribe', topics: ['everything'] });
        await eventually(() => client.received.filter((message) => message.type === 'error').length === 2 || undefined);
        client.send({ type: 'subscribe', topics: [`customer_id:${owner.id}`] });
        await client.next((message) => message.type === 'subscribed');
      } finally {
        client.socket.close();
      }
    });

    it('refuses a WebSocket without a valid key', async () => {
      const { harness } = get();
      const socket = new WebSocket(`${harness.url.replace('http', 'ws')}/v1.0/ws?token=avp_wrong`);
      socket.on('error', () => undefined);
      const [, response] = (await once(socket, 'unexpected-response')) as [unknown, { statusCode: number }];
      expect(response.statusCode).toBe(401);
      socket.terminate();
    });
  });
}
