import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiClient, type ApiResponse, type ApiTransport, type WireRequest } from './api-client.ts';
import { createPlatformMcpServer } from './mcp-server.ts';

/** A stand-in for the API: answers by `METHOD path`, records every request. */
function fakeApi(answers: Record<string, ApiResponse | (() => ApiResponse)>): { transport: ApiTransport; seen: WireRequest[] } {
  const seen: WireRequest[] = [];
  const transport: ApiTransport = async (request) => {
    seen.push(request);
    const answer = answers[`${request.method} ${request.url}`];
    if (!answer) return { status: 404, body: { error: { status: 404, reason: 'RESOURCE_NOT_FOUND', message: 'No such thing.', request_id: 'r-1' } } };
    return typeof answer === 'function' ? answer() : answer;
  };
  return { transport, seen };
}

const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

async function connect(transport: ApiTransport, flowTransport?: ApiTransport): Promise<Client> {
  const server = createPlatformMcpServer(createApiClient({ accessKey: 'avp_key', transport, ...(flowTransport ? { flowTransport } : {}) }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return client;
}

function textOf(result: unknown): string {
  return ((result as { content: { text: string }[] }).content[0]?.text) ?? '';
}

const ai = { id: '5f0c6c2e-0000-4000-8000-000000000001', name: 'receptionist', engine_model: 'openai.gpt-4o', engine_key_set: true, tm_create: 'x' };

describe('the platform MCP server', () => {
  it('offers the platform tools, outbound calls among them', async () => {
    const client = await connect(fakeApi({}).transport);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining(['create_ai', 'update_ai', 'list_ais', 'get_ai', 'delete_ai', 'create_flow', 'update_flow', 'list_flows', 'get_flow', 'create_number', 'list_numbers', 'bind_number_flow']),
    );
    expect(names).toEqual(expect.arrayContaining(['create_knowledgebase', 'add_knowledgebase_document', 'search_knowledgebase', 'list_calls', 'list_aicalls', 'get_aicall_conversation', 'list_summaries', 'send_aicall_message']));
    expect(names).toEqual(expect.arrayContaining(['place_call', 'get_call', 'hangup_call']));
  });

  it('places a call with the API\'s address objects from plain numbers', async () => {
    const api = fakeApi({ 'POST /v1.0/calls': { status: 200, body: { calls: [{ id: 'c-1', status: 'dialing' }] } } });
    const client = await connect(api.transport);
    const result = await client.callTool({ name: 'place_call', arguments: { source: '+15550001000', destinations: ['+15550001001', '+15550001002'], flow_id: 'f-1', timeout: 20 } });
    expect(result.isError).toBeFalsy();
    expect(JSON.parse(textOf(result))).toEqual({ calls: [{ id: 'c-1', status: 'dialing' }] });
    const posted = api.seen.find((request) => request.method === 'POST' && request.url === '/v1.0/calls');
    expect(JSON.parse(posted!.body!)).toEqual({
      source: { type: 'tel', target: '+15550001000' },
      destinations: [
        { type: 'tel', target: '+15550001001' },
        { type: 'tel', target: '+15550001002' },
      ],
      flow_id: 'f-1',
      timeout: 20,
    });
  });

  it('turns an API error into a tool error carrying the reason and the message', async () => {
    const { transport } = fakeApi({
      'POST /v1.0/ais': { status: 400, body: { error: { status: 400, reason: 'VALIDATION_FAILED', message: 'engine_model: must be <provider>.<model>', request_id: 'r-2', details: { problems: ['engine_model'] } } } },
    });
    const client = await connect(transport);
    const result = await client.callTool({ name: 'create_ai', arguments: { engine_model: 'gpt-4o' } });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('400 VALIDATION_FAILED: engine_model: must be <provider>.<model>');
    expect(textOf(result)).toContain('"problems":["engine_model"]');
  });

  it('turns an unreachable API into a tool error rather than a crash', async () => {
    const client = await connect(async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    });
    const result = await client.callTool({ name: 'list_ais', arguments: {} });
    expect(result).toMatchObject({ isError: true });
    expect(textOf(result)).toContain('could not be reached: connect ECONNREFUSED');
  });

  it('sends the caller\'s key and the query, and never shows an engine key', async () => {
    const { transport, seen } = fakeApi({ 'GET /v1.0/ais?page_size=2': { status: 200, body: { result: [{ ...ai, engine_key: 'sk-secret' }], next_page_token: '' } } });
    const client = await connect(transport);
    const result = await client.callTool({ name: 'list_ais', arguments: { page_size: 2 } });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).not.toContain('sk-secret');
    expect(JSON.parse(textOf(result))).toMatchObject({ result: [{ engine_key_set: true }] });
    expect(seen[0]!.headers.authorization).toBe('Bearer avp_key');
  });

  it('updates an AI by sending its current replaced fields with the changes, nothing read-only', async () => {
    const { transport, seen } = fakeApi({
      [`GET /v1.0/ais/${ai.id}`]: { status: 200, body: ai },
      [`PUT /v1.0/ais/${ai.id}`]: { status: 200, body: { ...ai, name: 'renamed' } },
    });
    const client = await connect(transport);
    const result = await client.callTool({ name: 'update_ai', arguments: { id: ai.id, name: 'renamed' } });
    expect(JSON.parse(textOf(result))).toMatchObject({ name: 'renamed' });
    expect(JSON.parse(seen[1]!.body!)).toEqual({ name: 'renamed', engine_model: 'openai.gpt-4o' });
  });

  it('sends flow-manager\'s paths to its own transport when there is one', async () => {
    const ais = fakeApi({});
    const flows = fakeApi({ 'GET /v1.0/calls': { status: 200, body: { result: [], next_page_token: '' } } });
    const client = await connect(ais.transport, flows.transport);
    await client.callTool({ name: 'list_calls', arguments: {} });
    expect(flows.seen.map((request) => request.url)).toEqual(['/v1.0/calls']);
    expect(ais.seen).toEqual([]);
  });

  it('reads a conversation oldest first', async () => {
    const id = '5f0c6c2e-0000-4000-8000-000000000002';
    const { transport } = fakeApi({
      [`GET /v1.0/aimessages?aicall_id=${id}`]: { status: 200, body: { result: [{ role: 'assistant', content: 'second' }, { role: 'user', content: 'first' }], next_page_token: '' } },
    });
    const client = await connect(transport);
    const result = JSON.parse(textOf(await client.callTool({ name: 'get_aicall_conversation', arguments: { aicall_id: id } }))) as { messages: { content: string }[] };
    expect(result.messages.map((message) => message.content)).toEqual(['first', 'second']);
  });

  it('serves AIs as resources and answers a refused read with the platform\'s error', async () => {
    const { transport } = fakeApi({
      'GET /v1.0/ais': { status: 200, body: { result: [ai], next_page_token: '' } },
      [`GET /v1.0/ais/${ai.id}`]: { status: 200, body: ai },
      'GET /v1.0/flows': { status: 200, body: { result: [], next_page_token: '' } },
    });
    const client = await connect(transport);
    const listed = await client.listResources();
    expect(listed.resources).toEqual([expect.objectContaining({ uri: `avp://ais/${ai.id}`, name: 'receptionist', mimeType: 'application/json' })]);
    const read = await client.readResource({ uri: `avp://ais/${ai.id}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: ai.id });
    await expect(client.readResource({ uri: 'avp://flows/5f0c6c2e-0000-4000-8000-00000000000f' })).rejects.toThrow(/404 RESOURCE_NOT_FOUND: No such thing/);
  });
});
