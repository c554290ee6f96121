import { createApiClient, fetchTransport, injectTransport, mcpMethodNotAllowed, serveMcpPost, type ApiTransport } from '@avp/mcp';
import { accessKeyOf, appError, requestIdHeader } from '@avp/shared';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';

/** Where the MCP endpoint's tools send the requests for flow-manager's routes. */
export interface McpRouteOptions {
  /**
   * FLOW_MANAGER_API_URL: flow-manager's public API when it runs as a service of its own
   * (`http://flow-manager:8081`); unset, its routes are on the same server as ai-manager's
   * (the one-process mode).
   */
  flowManagerApiUrl?: string;
}

/**
 * `/v1.0/mcp`: the platform's MCP server over Streamable HTTP (stateless, JSON answers, see
 * `@avp/mcp`). Registered inside the key-checked scope, so a missing or bad key is the API's
 * own 401 and each request counts against the key's rate limit. The tools call the public
 * API with the caller's key: ai-manager's routes through `server.inject` (no socket, the
 * whole request path, key check included), flow-manager's the same way or over HTTP to
 * FLOW_MANAGER_API_URL. Hidden from the OpenAPI document: it speaks JSON-RPC, not REST.
 */
export function mcpRoutes(server: FastifyInstance, options: McpRouteOptions = {}): FastifyPluginAsync {
  return async (api) => {
    const transport: ApiTransport = injectTransport(server);
    const remoteFlowManager = options.flowManagerApiUrl ? fetchTransport(options.flowManagerApiUrl) : undefined;
    api.post('/v1.0/mcp', { schema: { hide: true } }, async (request, reply) => {
      // The scope's key check let the request in, so it carries a key.
      const accessKey = accessKeyOf(request) ?? '';
      const flowTransport = remoteFlowManager ?? (server.hasRoute({ method: 'GET', url: '/v1.0/flows' }) ? undefined : flowManagerMissing(request.id));
      const client = createApiClient({ accessKey, transport, ...(flowTransport ? { flowTransport } : {}) });
      // The transport writes the answer itself; fastify's own headers would be lost.
      reply.raw.setHeader(requestIdHeader, request.id);
      reply.hijack();
      try {
        await serveMcpPost(request.raw, reply.raw, request.body, client);
      } catch (error) {
        request.log.error({ err: error }, 'the MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' });
          reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
        }
      }
    });
    for (const method of ['GET', 'DELETE'] as const) {
      api.route({
        method,
        url: '/v1.0/mcp',
        schema: { hide: true },
        handler: async (_request, reply) => reply.code(405).header('allow', 'POST').send(mcpMethodNotAllowed),
      });
    }
  };
}

/**
 * Stands in for flow-manager's API when it is neither on this server nor configured: the
 * tools then say what to set rather than answering "no such route".
 */
function flowManagerMissing(requestId: string): ApiTransport {
  const error = appError('SERVICE_UNAVAILABLE', "flow-manager's API is not served by this process: set ai-manager's FLOW_MANAGER_API_URL.");
  return async () => ({ status: error.httpStatus, body: error.toBody(requestId) });
}
