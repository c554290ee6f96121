import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ApiClient } from './api-client.ts';
import { createPlatformMcpServer } from './mcp-server.ts';

/**
 * Answers one Streamable HTTP request in stateless mode: a server and a transport are made
 * for this request only and closed with it. Nothing of a session is kept between requests,
 * so any instance behind a load balancer can answer any request, and each request acts with
 * the key it carries. Only POST carries MCP messages here: answers are plain JSON
 * (`enableJsonResponse`), since no tool streams progress or asks the client anything; GET
 * (the server's own event stream) and DELETE (ending a session) have nothing to do without
 * sessions, so the caller answers them 405 (`mcpMethodNotAllowed`).
 *
 * `body` is the request's parsed JSON when a framework has read it already.
 */
export async function serveMcpPost(request: IncomingMessage, response: ServerResponse, body: unknown, client: ApiClient): Promise<void> {
  const server = createPlatformMcpServer(client);
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  response.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(request, response, body);
}

/** The JSON-RPC body of the 405 a stateless endpoint answers GET and DELETE with (`Allow: POST`). */
export const mcpMethodNotAllowed = {
  jsonrpc: '2.0',
  error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless; send MCP messages with POST.' },
  id: null,
} as const;
