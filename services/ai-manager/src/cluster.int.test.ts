import { once } from 'node:events';
import { createBus, createDatabase, silentLogger, type Database } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure, type TestPostgresDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { revokedCloseCode } from './events/websocket-hub.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, type Harness } from './testing/harness.ts';

/**
 * Two ai-manager instances on one PostgreSQL and RabbitMQ, as in a cluster: a WebSocket
 * client of one instance receives the events of changes made through the other, and is
 * closed when its key is revoked through the other.
 */
describe('ai-manager cluster (PostgreSQL + RabbitMQ)', () => {
  let test: TestPostgresDatabase | undefined;
  const databases: Database[] = [];
  const instances: Harness[] = [];

  beforeAll(async () => {
    const postgres = await findInfrastructure('postgres');
    const rabbitmq = await findInfrastructure('rabbitmq');
    if (!postgres.available || !rabbitmq.available) return;
    test = await createTestPostgresDatabase({ adminUrl: postgres.url });
    for (let index = 0; index < 2; index++) {
      const database = await createDatabase(test.options);
      databases.push(database);
      const bus = await createBus({ rabbitmqUrl: rabbitmq.url, logger: silentLogger() });
      // No periodic key check: a revocation can only reach the other instance over RabbitMQ.
      instances.push(await startHarness(database, { websocket: { keyCheckMs: 0 } }, bus));
    }
  });

  afterAll(async () => {
    for (const instance of instances) {
      await instance.stop();
      await instance.bus.close();
    }
    for (const database of databases) await database.close();
    await test?.drop();
  });

  it('pushes an event to a WebSocket client of the other instance', async (context) => {
    if (instances.length < 2) return context.skip();
    const [first, second] = instances as [Harness, Harness];
    const customer = await createTestCustomer(first);
    const socket = new WebSocket(`${second.url.replace('http', 'ws')}/v1.0/ws?accesskey=${customer.key}`);
    const received: { type: string; data?: { id?: string } }[] = [];
    socket.on('message', (raw) => received.push(JSON.parse(raw.toString())));
    await once(socket, 'open');
    try {
      socket.send(JSON.stringify({ type: 'subscribe', topics: [`customer_id:${customer.id}:ai`] }));
      await eventually(() => received.find((message) => message.type === 'subscribed'));
      const ai = await call(first, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody() });
      const pushed = await eventually(() => received.find((message) => message.type === 'ai_created'), 10_000);
      expect(pushed.data?.id).toBe(ai.body.id);
    } finally {
      socket.close();
    }
  });

  it('closes a WebSocket client of the other instance when its key is revoked', async (context) => {
    if (instances.length < 2) return context.skip();
    const [first, second] = instances as [Harness, Harness];
    const customer = await createTestCustomer(first);
    const socket = new WebSocket(`${second.url.replace('http', 'ws')}/v1.0/ws?accesskey=${customer.key}`);
    let closeCode: number | undefined;
    socket.on('close', (code) => {
      closeCode = code;
    });
    await once(socket, 'open');
    expect((await call(first, 'DELETE', `/v1.0/customers/${customer.id}/accesskeys/${customer.keyId}`, { admin: true })).status).toBe(200);
    expect(await eventually(() => closeCode, 5000)).toBe(revokedCloseCode);
  });
});
