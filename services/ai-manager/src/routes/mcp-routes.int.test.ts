import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase, type Database } from '@avp/shared';
import { createTestPgliteDatabase } from '@avp/shared/testing';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, secretEngineKey, startHarness, type Harness } from '../testing/harness.ts';

/**
 * `/v1.0/mcp` on ai-manager alone (as in the cluster mode): ai-manager's own routes are
 * reached in-process, flow-manager's only through FLOW_MANAGER_API_URL. The whole platform
 * behind it is tested end to end in `packages/e2e/src/mcp.int.test.ts`.
 */
describe('the MCP endpoint on ai-manager alone', () => {
  let database: Database;
  let dropDatabase: () => Promise<void>;
  let alone: Harness;
  let withFlowManager: Harness;
  let flowManagerStandIn: Server;
  const seen: { line: string; authorization: string }[] = [];
  const clients: Client[] = [];

  beforeAll(async () => {
    const test = await createTestPgliteDatabase();
    dropDatabase = () => test.drop();
    database = await createDatabase(test.options);
    flowManagerStandIn = createServer((request, response) => {
      seen.push({ line: `${request.method} ${request.url}`, authorization: request.headers.authorization ?? '' });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ result: [{ id: 'a-call' }], next_page_token: '' }));
    });
    await new Promise<void>((resolve) => flowManagerStandIn.listen(0, '127.0.0.1', resolve));
    alone = await startHarness(database);
    const { port } = flowManagerStandIn.address() as AddressInfo;
    withFlowManager = await startHarness(database, { flowManagerApiUrl: `http://127.0.0.1:${port}` });
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await withFlowManager?.stop();
    await alone?.stop();
    await new Promise((resolve) => flowManagerStandIn?.close(resolve));
    await database?.close();
    await dropDatabase?.();
  });

  async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
    const client = new Client({ name: 'test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    clients.push(client);
    return client;
  }
  const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]!.text;

  it('acts with the caller\'s key on ai-manager\'s routes, in-process', async () => {
    const customer = await createTestCustomer(alone, 'mcp-alone');
    const created = await call(alone, 'POST', '/v1.0/ais', { key: customer.key, body: aiBody({ name: 'made over REST', engine_key: secretEngineKey }) });
    // The query form of the key works like the header, as for the REST API.
    const client = await connect(`${alone.url}/v1.0/mcp?accesskey=${customer.key}`);
    const got = await client.callTool({ name: 'get_ai', arguments: { id: created.body.id } });
    expect(got.isError).toBeFalsy();
    expect(JSON.parse(textOf(got))).toMatchObject({ id: created.body.id, name: 'made over REST', engine_key_set: true });
    expect(textOf(got)).not.toContain(secretEngineKey);
  });

  it('answers a POST without a body with a JSON-RPC parse error (fastify has read the stream already)', async () => {
    const customer = await createTestCustomer(alone, 'mcp-empty-body');
    const response = await fetch(`${alone.url}/v1.0/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      signal: AbortSignal.timeout(5000),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
  });

  it('says what to set when flow-manager\'s routes are neither here nor configured', async () => {
    const customer = await createTestCustomer(alone, 'mcp-no-flow-manager');
    const client = await connect(`${alone.url}/v1.0/mcp`, { Authorization: `Bearer ${customer.key}` });
    const result = await client.callTool({ name: 'list_flows', arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/503 SERVICE_UNAVAILABLE: .*FLOW_MANAGER_API_URL/);
  });

  it('sends flow-manager\'s routes to FLOW_MANAGER_API_URL with the caller\'s key', async () => {
    const customer = await createTestCustomer(withFlowManager, 'mcp-flow-manager');
    const client = await connect(`${withFlowManager.url}/v1.0/mcp`, { Authorization: `Bearer ${customer.key}` });
    const result = await client.callTool({ name: 'list_calls', arguments: { page_size: 5 } });
    expect(JSON.parse(textOf(result))).toEqual({ result: [{ id: 'a-call' }], next_page_token: '' });
    expect(seen).toEqual([{ line: 'GET /v1.0/calls?page_size=5', authorization: `Bearer ${customer.key}` }]);
  });
});
