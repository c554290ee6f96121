#!/usr/bin/env tsx
/**
 * The platform's MCP server over stdio, for MCP clients that start their servers as
 * processes (Claude Desktop and the like): `npx tsx packages/mcp/src/stdio.ts`.
 *
 * Environment: AVP_API_URL (the API's base, e.g. http://127.0.0.1:8080), AVP_ACCESS_KEY
 * (the customer's access key), AVP_FLOW_API_URL (flow-manager's base when it is served
 * apart from ai-manager; default AVP_API_URL). stdout carries only MCP messages; anything
 * else goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createApiClient, fetchTransport } from './api-client.ts';
import { createPlatformMcpServer } from './mcp-server.ts';

function setting(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

function validUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // Reported below.
  }
  process.stderr.write(`avp-mcp: ${name} must be an http(s) URL such as http://127.0.0.1:8080\n`);
  process.exit(78);
}

const apiUrl = setting('AVP_API_URL');
const accessKey = setting('AVP_ACCESS_KEY');
const flowApiUrl = setting('AVP_FLOW_API_URL');
if (!apiUrl || !accessKey) {
  process.stderr.write('avp-mcp: set AVP_API_URL (e.g. http://127.0.0.1:8080) and AVP_ACCESS_KEY (a customer access key); AVP_FLOW_API_URL is optional\n');
  process.exit(78);
}
const client = createApiClient({
  accessKey,
  transport: fetchTransport(validUrl('AVP_API_URL', apiUrl)),
  ...(flowApiUrl ? { flowTransport: fetchTransport(validUrl('AVP_FLOW_API_URL', flowApiUrl)) } : {}),
});
const server = createPlatformMcpServer(client);
await server.connect(new StdioServerTransport());
process.stderr.write(`avp-mcp: serving MCP over stdio for ${apiUrl}\n`);
