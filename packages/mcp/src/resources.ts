import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApiClient } from './api-client.ts';
import { ApiFailure, send, withoutSecrets } from './tool-kit.ts';

interface ListPage {
  result?: { id?: unknown; name?: unknown; detail?: unknown }[];
}

/** The two kinds of resources: what they are called and where the API keeps them. */
const kinds = [
  { name: 'ai', scheme: 'avp://ais/{id}', path: '/v1.0/ais', title: 'AI', description: 'An AI of the customer as JSON (engine_key never included).' },
  { name: 'flow', scheme: 'avp://flows/{id}', path: '/v1.0/flows', title: 'Flow', description: 'A flow of the customer with its actions, as JSON.' },
] as const;

/**
 * Registers `avp://ais/{id}` and `avp://flows/{id}`: each resource is the API's JSON of one
 * AI or flow; listing them gives the first page of each (100, newest first). A read the API
 * refuses (another customer's id is a 404 like a missing one) is a JSON-RPC error carrying
 * the platform's reason and message.
 */
export function registerResources(server: McpServer, client: ApiClient): void {
  for (const kind of kinds) {
    const template = new ResourceTemplate(kind.scheme, {
      list: async () => {
        const page = (await readOrThrow(client, kind.path)) as ListPage;
        return {
          resources: (page.result ?? []).map((item) => ({
            uri: kind.scheme.replace('{id}', String(item.id)),
            name: typeof item.name === 'string' && item.name !== '' ? item.name : String(item.id),
            ...(typeof item.detail === 'string' && item.detail !== '' ? { description: item.detail } : {}),
            mimeType: 'application/json',
          })),
        };
      },
    });
    server.registerResource(kind.name, template, { title: kind.title, description: kind.description, mimeType: 'application/json' }, async (uri, variables): Promise<ReadResourceResult> => {
      const id = Array.isArray(variables.id) ? variables.id[0] : variables.id;
      const resource = withoutSecrets(await readOrThrow(client, `${kind.path}/${encodeURIComponent(String(id))}`));
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(resource, null, 2) }] };
    });
  }
}

/** The MCP specification's code for a resource that does not exist (the SDK has no name for it). */
const resourceNotFound = -32002;

async function readOrThrow(client: ApiClient, path: string): Promise<unknown> {
  try {
    return await send(client, { method: 'GET', path });
  } catch (error) {
    if (error instanceof ApiFailure) {
      const code = error.status === 404 ? resourceNotFound : error.status < 500 ? ErrorCode.InvalidParams : ErrorCode.InternalError;
      throw new McpError(code, error.message, { status: error.status, body: error.body });
    }
    throw error;
  }
}
