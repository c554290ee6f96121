import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApiClient } from '../api-client.ts';
import { definedFields, handler, idSchema, pageShape, send } from '../tool-kit.ts';

/** Registers the tools for knowledge bases: create, list, add a document, search. */
export function registerKnowledgebaseTools(server: McpServer, client: ApiClient): void {
  server.registerTool(
    'create_knowledgebase',
    {
      title: 'Create a knowledge base',
      description:
        'Creates a knowledge base: documents an AI looks things up in with its search_knowledge tool. Link it to an AI with update_ai knowledgebase_ids (and tool_names including search_knowledge).',
      inputSchema: {
        name: z.string().optional().describe('A name for people.'),
        detail: z.string().optional().describe('A description for people.'),
        language: z.string().optional().describe('The documents\' language as BCP-47 (en-US, de-DE): picks stemming and stop words for search; "" = plain word matching.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'POST', path: '/v1.0/knowledgebases', body: definedFields(args) })),
  );

  server.registerTool(
    'list_knowledgebases',
    {
      title: 'List knowledge bases',
      description: 'Lists the customer\'s knowledge bases.',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/knowledgebases', query: args })),
  );

  server.registerTool(
    'add_knowledgebase_document',
    {
      title: 'Add a document to a knowledge base',
      description: 'Adds a plain-text or Markdown document (at most 200,000 characters; split longer ones) to a knowledge base. It is split into passages for search. Documents are not edited in place.',
      inputSchema: {
        knowledgebase_id: idSchema.describe('The knowledge base\'s id.'),
        name: z.string().describe('The document\'s name.'),
        content: z.string().describe('The text.'),
        source: z.string().optional().describe('Where the text came from (a URL, a file name); shown with search results.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async ({ knowledgebase_id, ...document }) =>
      send(client, { method: 'POST', path: `/v1.0/knowledgebases/${encodeURIComponent(knowledgebase_id)}/documents`, body: definedFields(document) }),
    ),
  );

  server.registerTool(
    'search_knowledgebase',
    {
      title: 'Search a knowledge base',
      description: 'Finds the passages of a knowledge base that match a query (any of its words; more matching words first), best first: what search_knowledge gives an AI.',
      inputSchema: {
        knowledgebase_id: idSchema.describe('The knowledge base\'s id.'),
        q: z.string().min(1).describe('The query.'),
        limit: z.number().int().min(1).max(20).optional().describe('How many passages (1-20, default 5).'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ knowledgebase_id, q, limit }) =>
      send(client, { method: 'GET', path: `/v1.0/knowledgebases/${encodeURIComponent(knowledgebase_id)}/search`, query: { q, limit } }),
    ),
  );
}
