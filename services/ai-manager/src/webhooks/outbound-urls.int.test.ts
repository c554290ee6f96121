import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase, OutboundPolicy, type Database, type HostResolver } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { databaseSchema } from '../app.ts';
import { aiBody, call, createTestCustomer, eventually, startHarness, testOutboundPolicy, type Harness } from '../testing/harness.ts';

/** A webhook receiver on 127.0.0.1 that records what reaches it. */
async function startReceiver(): Promise<{ port: number; received: string[]; server: Server }> {
  const received: string[] = [];
  const server = createServer((request, response) => {
    received.push(`${request.method} ${request.url}`);
    response.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, received, server };
}

/** Names resolve from this table (there is no DNS here); `rebind.example.com` changes its answer. */
const answers: Record<string, string> = { 'hooks.example.com': '93.184.216.34', 'rebind.example.com': '93.184.216.34' };
const resolver: HostResolver = async (hostname) => {
  const address = answers[hostname];
  if (!address) throw new Error(`ENOTFOUND ${hostname}`);
  return [{ address, family: 4 }];
};

describe('URLs customers give ai-manager to call (webhook_uri)', () => {
  let test: TestPgliteDatabase;
  let database: Database;
  let strict: Harness;
  const servers: Server[] = [];

  beforeAll(async () => {
    test = await createTestPgliteDatabase();
    database = await createDatabase(test.options);
    // No allow list: the rule as it stands in production.
    strict = await startHarness(database, { outbound: new OutboundPolicy(undefined, resolver) });
  });

  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  afterAll(async () => {
    await strict.stop();
    await database.close();
    await test.drop();
  });

  const deliveryOf = async (aiId: string) => {
    const rows = await sql<{ status: string; last_error: string }>`
      select status, last_error from ${sql.id(databaseSchema, 'webhook_deliveries')} where body like ${`%${aiId}%`}`.execute(database.forSchema(databaseSchema));
    return rows.rows[0];
  };

  it('refuses internal addresses, credentials and other schemes when the URI is saved, naming the field', async () => {
    const { key } = await createTestCustomer(strict);
    const refused = [
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/hook',
      'http://localhost:5432/',
      'http://[::1]/hook',
      'http://0x7f000001/hook',
      'http://2130706433/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://100.64.0.1/hook',
      'https://user:pass@hooks.example.com/hook',
      `${strict.url}/v1.0/customers`,
    ];
    for (const uri of refused) {
      const answer = await call(strict, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: uri } });
      expect([uri, answer.status, answer.body.error.reason]).toEqual([uri, 400, 'VALIDATION_FAILED']);
      expect(answer.body.error.message).toMatch(/^webhook_uri: /);
    }
    const created = await call(strict, 'POST', '/v1.0/customers', { admin: true, body: { name: 'x', webhook_uri: 'http://169.254.169.254/' } });
    expect(created.status).toBe(400);
    expect(created.body.error.message).toContain('webhook_uri: must not point at an internal address: 169.254.169.254 is link-local');
    expect((await call(strict, 'GET', '/v1.0/customer', { key })).body.webhook_uri).toBe('');
    // A public host is fine, and so is turning webhooks off.
    expect((await call(strict, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: 'https://hooks.example.com/avp' } })).status).toBe(200);
    expect((await call(strict, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: '' } })).status).toBe(200);
  });

  it('checks again at send time: a stored internal URI is never posted to (its delivery fails without retries)', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const { id, key } = await createTestCustomer(strict);
    // As a URI saved before the rule existed, or by hand.
    await sql`update ${sql.id(databaseSchema, 'customers')} set webhook_uri = ${`http://127.0.0.1:${receiver.port}/hook`} where id = ${id}`.execute(
      database.forSchema(databaseSchema),
    );
    const ai = await call(strict, 'POST', '/v1.0/ais', { key, body: aiBody() });
    const delivery = await eventually(async () => {
      const row = await deliveryOf(ai.body.id);
      return row?.status === 'failed' ? row : undefined;
    });
    expect(delivery.last_error).toContain('refused: webhook_uri must not point at an internal address: 127.0.0.1 is loopback');
    expect(receiver.received).toEqual([]);
  });

  it('follows the host to where it resolves at send time (DNS rebinding is refused)', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const { key } = await createTestCustomer(strict);
    answers['rebind.example.com'] = '93.184.216.34';
    const saved = await call(strict, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: `http://rebind.example.com:${receiver.port}/hook` } });
    expect(saved.status).toBe(200);
    answers['rebind.example.com'] = '127.0.0.1';
    const ai = await call(strict, 'POST', '/v1.0/ais', { key, body: aiBody() });
    const delivery = await eventually(async () => {
      const row = await deliveryOf(ai.body.id);
      return row?.status === 'failed' ? row : undefined;
    });
    expect(delivery.last_error).toContain('rebind.example.com (127.0.0.1) is loopback');
    expect(receiver.received).toEqual([]);
  });

  it('delivers to an internal receiver the operator allows (OUTBOUND_ALLOWED_HOSTS)', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    // Only the allowing instance may send: the strict one would claim the delivery and refuse it.
    await strict.service.stop();
    const allowing = await startHarness(database, { outbound: testOutboundPolicy(`127.0.0.1/32`) });
    try {
      const { key } = await createTestCustomer(allowing);
      const uri = `http://127.0.0.1:${receiver.port}/hook`;
      expect((await call(allowing, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: uri } })).status).toBe(200);
      // Still only what is listed: another loopback address is refused.
      expect((await call(allowing, 'PUT', '/v1.0/customer', { key, body: { webhook_uri: 'http://127.0.0.2/hook' } })).status).toBe(400);
      await call(allowing, 'POST', '/v1.0/ais', { key, body: aiBody() });
      await eventually(() => receiver.received.length > 0 || undefined);
      expect(receiver.received[0]).toBe('POST /hook');
    } finally {
      await allowing.stop();
      await strict.service.start();
    }
  });
});
