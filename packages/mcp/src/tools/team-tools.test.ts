import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiClient, type ApiTransport, type WireRequest } from '../api-client.ts';
import { createPlatformMcpServer } from '../mcp-server.ts';

const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

/** The MCP server over a stand-in API that answers `answer` to everything and records what it was sent. */
async function connect(answer: (request: WireRequest) => { status: number; body: unknown }): Promise<{ client: Client; seen: WireRequest[] }> {
  const seen: WireRequest[] = [];
  const transport: ApiTransport = async (request) => {
    seen.push(request);
    return answer(request);
  };
  const server = createPlatformMcpServer(createApiClient({ accessKey: 'avp_key', transport }));
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1.0.0' });
  await client.connect(clientSide);
  clients.push(client);
  return { client, seen };
}

const textOf = (result: unknown) => (result as { content: { text: string }[] }).content[0]?.text ?? '';

describe('team tools', () => {
  const team = {
    name: 'front desk',
    start_member_id: 'm-front',
    members: [
      { id: 'm-front', name: 'Reception', ai_id: 'ai-1', transitions: [{ function_name: 'transfer_to_billing', description: 'Bills.', next_member_id: 'm-back' }] },
      { id: 'm-back', name: 'Billing', ai_id: 'ai-2' },
    ],
  };

  it('creates, replaces, reads, lists and deletes teams through /v1.0/teams', async () => {
    const { client, seen } = await connect((request) => ({ status: 200, body: { id: 't-1', echo: request.body ? JSON.parse(request.body) : null } }));
    const created = await client.callTool({ name: 'create_team', arguments: team });
    expect(created.isError).toBeFalsy();
    expect(JSON.parse(textOf(created))).toEqual({ id: 't-1', echo: team });
    await client.callTool({ name: 'replace_team', arguments: { id: 't-1', ...team, name: 'renamed' } });
    await client.callTool({ name: 'get_team', arguments: { id: 't-1' } });
    await client.callTool({ name: 'list_teams', arguments: { page_size: 10 } });
    await client.callTool({ name: 'delete_team', arguments: { id: 't-1' } });
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual([
      'POST /v1.0/teams',
      'PUT /v1.0/teams/t-1',
      'GET /v1.0/teams/t-1',
      'GET /v1.0/teams?page_size=10',
      'DELETE /v1.0/teams/t-1',
    ]);
    expect(JSON.parse(seen[1]!.body!)).toEqual({ ...team, name: 'renamed' });
  });

  it("gives the platform's refusal back as a tool error naming the problem", async () => {
    const { client } = await connect(() => ({
      status: 400,
      body: { error: { status: 'INVALID_ARGUMENT', reason: 'VALIDATION_FAILED', message: 'Invalid team: start_member_id: m-x is not a member of the team', request_id: 'r-1' } },
    }));
    const refused = await client.callTool({ name: 'create_team', arguments: { ...team, start_member_id: 'm-x' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/400 VALIDATION_FAILED: Invalid team: start_member_id: m-x is not a member/);
  });
});
