import { once } from 'node:events';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { databaseSchema } from '../../app.ts';
import { aiBody, call, createTestCustomer, eventually, type Harness } from '../harness.ts';
import type { GetContext } from './context.ts';

interface Pushed {
  type: string;
  id?: string;
  seq?: number;
  data?: { id?: string };
  replayed?: number;
  since?: number;
  message?: string;
}

/** A WebSocket client that collects every message it receives. */
async function connect(harness: Harness, key: string, query = '') {
  const socket = new WebSocket(`${harness.url.replace('http', 'ws')}/v1.0/ws?token=${key}${query}`);
  const received: Pushed[] = [];
  socket.on('message', (raw) => received.push(JSON.parse(raw.toString()) as Pushed));
  await once(socket, 'open');
  return {
    socket,
    received,
    events: () => received.filter((message) => message.data !== undefined),
    send: (message: unknown) => socket.send(JSON.stringify(message)),
    next: (predicate: (message: Pushed) => boolean) => eventually(() => received.find(predicate)),
  };
}

/** The sequence numbers the bus carried for a customer's `ai` events after `since`, in order. */
function aiEventSeqs(harness: Harness, aiId: string, since: number): number[] {
  return harness.events
    .filter((event) => event.type.startsWith('ai_') && (event.data as { id?: string }).id === aiId && (event.seq ?? 0) > since)
    .map((event) => event.seq!)
    .sort((a, b) => a - b);
}

/** WebSocket clients that reconnect resume from the last sequence number they saw. */
export function websocketResumeSuite(get: GetContext): void {
  describe('WebSocket resume', () => {
    it('replays exactly the events missed while away, then continues live without a duplicate', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const topic = `customer_id:${owner.id}:ai`;
      const first = await connect(harness, owner.key);
      first.send({ type: 'subscribe', topics: [topic] });
      await first.next((message) => message.type === 'subscribed');
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      const created = await first.next((message) => message.type === 'ai_created');
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.seq).toBeGreaterThan(0);
      first.socket.close();
      await once(first.socket, 'close');

      // Missed while away: two updates of the AI and an AIcall (another topic: not replayed).
      await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'missed 1' }) });
      await call(harness, 'POST', '/v1.0/aicalls', { key: owner.key, body: { assistance_type: 'ai', assistance_id: ai.body.id } });
      await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'missed 2' }) });

      const second = await connect(harness, owner.key);
      try {
        second.send({ type: 'subscribe', topics: [topic], since: created.seq });
        // A change racing the replay: it must arrive exactly once, whichever way it comes.
        await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'at the seam' }) });
        const subscribed = await second.next((message) => message.type === 'subscribed');
        expect(subscribed.replayed).toBeGreaterThanOrEqual(2);
        await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'live' }) });
        await eventually(() => second.events().some((message) => (message.data as { name?: string }).name === 'live') || undefined);

        const names = second.events().map((message) => (message.data as { name?: string }).name);
        expect(names).toEqual(['missed 1', 'missed 2', 'at the seam', 'live']);
        const seqs = second.events().map((message) => message.seq);
        expect(seqs).toEqual(aiEventSeqs(harness, ai.body.id, created.seq!));
        expect(second.events().every((message) => message.type === 'ai_updated')).toBe(true);
      } finally {
        second.socket.close();
      }
    });

    it('takes the resume point from ?since= for the first subscription', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'after' }) });
      const createdSeq = await eventually(() => harness.events.find((event) => event.type === 'ai_created' && (event.data as { id: string }).id === ai.body.id)?.seq);
      const client = await connect(harness, owner.key, `&since=${createdSeq}`);
      try {
        client.send({ type: 'subscribe', topics: [`customer_id:${owner.id}`] });
        await client.next((message) => message.type === 'subscribed');
        expect(client.events().map((message) => [message.type, message.seq])).toEqual([['ai_updated', createdSeq + 1]]);
      } finally {
        client.socket.close();
      }
    });

    it('refuses a `?since=` that is not a whole number', async () => {
      const { harness } = get();
      const owner = await createTestCustomer(harness);
      const client = await connect(harness, owner.key, '&since=-1');
      const [code] = (await once(client.socket, 'close')) as [number];
      expect(code).toBe(1008);
      expect(client.received).toEqual([{ type: 'error', message: 'since: must be a whole number of 0 or more' }]);
    });

    it('says so when the events after `since` are no longer kept, and goes on live', async () => {
      const { harness, database } = get();
      const owner = await createTestCustomer(harness);
      const ai = await call(harness, 'POST', '/v1.0/ais', { key: owner.key, body: aiBody() });
      await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'forgotten' }) });
      // The events age past the replay window; the relay removes them.
      const outbox = sql.id(databaseSchema, 'event_outbox');
      const db = database.forSchema(databaseSchema);
      await eventually(async () => {
        const unpublished = await sql<{ id: string }>`select id from ${outbox} where customer_id = ${owner.id} and published_at is null`.execute(db);
        return unpublished.rows.length === 0 || undefined;
      });
      await sql`update ${outbox} set tm_create = clock_timestamp() - interval '1 day' where customer_id = ${owner.id}`.execute(db);
      await eventually(async () => {
        const left = await sql<{ id: string }>`select id from ${outbox} where customer_id = ${owner.id}`.execute(db);
        return left.rows.length === 0 || undefined;
      });

      const client = await connect(harness, owner.key);
      try {
        client.send({ type: 'subscribe', topics: [`customer_id:${owner.id}:ai`], since: 0 });
        const exceeded = await client.next((message) => message.type === 'replay_window_exceeded');
        expect(exceeded.since).toBe(0);
        expect(exceeded.message).toContain('no longer kept');
        await client.next((message) => message.type === 'subscribed');
        expect(client.events()).toEqual([]);
        await call(harness, 'PUT', `/v1.0/ais/${ai.body.id}`, { key: owner.key, body: aiBody({ name: 'live' }) });
        const live = await client.next((message) => message.type === 'ai_updated');
        expect(live.seq).toBe(3);
      } finally {
        client.socket.close();
      }
    });
  });
}
