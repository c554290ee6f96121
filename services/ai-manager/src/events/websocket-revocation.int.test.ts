import { once } from 'node:events';
import { createDatabase, createInProcessBus, InProcessBroker, type Database } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { databaseSchema } from '../app.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from '../testing/harness.ts';
import { revokedCloseCode } from './websocket-hub.ts';

/** A subscribed WebSocket client that records its pushes and how it was closed. */
async function subscribed(harness: Harness, customer: { id: string; key: string }) {
  const socket = new WebSocket(`${harness.url.replace('http', 'ws')}/v1.0/ws?token=${customer.key}`);
  const pushed: string[] = [];
  let closeCode: number | undefined;
  socket.on('message', (raw) => pushed.push((JSON.parse(raw.toString()) as { type: string }).type));
  socket.on('close', (code) => {
    closeCode = code;
  });
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'subscribe', topics: [`customer_id:${customer.id}`] }));
  await eventually(() => pushed.includes('subscribed') || undefined);
  return { socket, pushed, closed: () => closeCode };
}

/** Whether a client is closed with the revocation code within `withinMs`. */
async function closedForRevocation(client: { closed: () => number | undefined }, withinMs = 3000): Promise<number> {
  return eventually(() => client.closed(), withinMs);
}

describe('WebSocket connections end with their access key', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  const broker = new InProcessBroker();
  let first: Harness;
  let second: Harness;

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    // Two ai-manager processes on one database and one bus; their periodic key check is off
    // here, so only the revocation itself can close anything.
    first = await startHarness(database, { websocket: { keyCheckMs: 0 } }, createInProcessBus({ broker }));
    // The second caches key lookups for a minute: only the announcement can make it forget.
    second = await startHarness(database, { websocket: { keyCheckMs: 0 }, keyCacheTtlMs: 60_000 }, createInProcessBus({ broker }));
  });

  afterAll(async () => {
    await first.stop();
    await second.stop();
    await database.close();
    await test.drop();
  });

  it('closes the connections of a deleted key at once, and only those', async () => {
    const customer = await createTestCustomer(first);
    const other = await call(first, 'POST', `/v1.0/customers/${customer.id}/accesskeys`, { admin: true, body: { name: 'second key' } });
    const revokedClient = await subscribed(first, customer);
    const keptClient = await subscribed(first, { id: customer.id, key: other.body.key });

    expect((await call(first, 'DELETE', `/v1.0/customers/${customer.id}/accesskeys/${customer.keyId}`, { admin: true })).status).toBe(200);
    expect(await closedForRevocation(revokedClient)).toBe(revokedCloseCode);

    // The connection of the customer's other key still gets events; the closed one got none.
    const ai = await call(first, 'POST', '/v1.0/ais', { key: other.body.key, body: aiBody() });
    expect(ai.status).toBe(200);
    await eventually(() => keptClient.pushed.includes('ai_created') || undefined);
    expect(revokedClient.pushed).not.toContain('ai_created');
    expect(keptClient.closed()).toBeUndefined();
    keptClient.socket.close();
  });

  it('closes every connection of a deleted customer', async () => {
    const customer = await createTestCustomer(first);
    const client = await subscribed(first, customer);
    expect((await call(first, 'DELETE', `/v1.0/customers/${customer.id}`, { admin: true })).status).toBe(200);
    expect(await closedForRevocation(client)).toBe(revokedCloseCode);
  });

  it('reaches the connections held by another process through the bus', async () => {
    const customer = await createTestCustomer(first);
    const onSecond = await subscribed(second, customer);
    const asCustomer = { method: 'GET' as const, url: '/v1.0/ais', headers: { authorization: `Bearer ${customer.key}` } };
    expect((await second.app.inject(asCustomer)).statusCode).toBe(200);
    expect((await call(first, 'DELETE', `/v1.0/customers/${customer.id}/accesskeys/${customer.keyId}`, { admin: true })).status).toBe(200);
    expect(await closedForRevocation(onSecond)).toBe(revokedCloseCode);
    // And the other process refuses the key at once too (its cached lookup was dropped).
    expect((await second.app.inject(asCustomer)).statusCode).toBe(401);
  });

  it('closes connections whose key was revoked without an announcement, at the next periodic check', async () => {
    const checking = await startHarness(database, { websocket: { keyCheckMs: 200 } });
    try {
      const customer = await createTestCustomer(checking);
      const client = await subscribed(checking, customer);
      // Revoked behind the API's back: no bus event, only the periodic check can notice.
      await sql`update ${sql.id(databaseSchema, 'access_keys')} set tm_delete = clock_timestamp() where id = ${customer.keyId}`.execute(
        database.forSchema(databaseSchema),
      );
      expect(await closedForRevocation(client)).toBe(revokedCloseCode);
    } finally {
      await checking.stop();
    }
  });
});
