import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApiClient } from '../api-client.ts';
import { handler, idSchema, pageShape, send } from '../tool-kit.ts';

interface MessagePage {
  result?: unknown[];
  next_page_token?: string;
}

/** Registers the tools for AIcalls (AI sessions), their messages and summaries. */
export function registerAicallTools(server: McpServer, client: ApiClient): void {
  server.registerTool(
    'list_aicalls',
    {
      title: 'List AIcalls',
      description:
        'Lists AIcalls, the sessions in which an AI talked on a call or in a text conversation, newest first: status (initiating, progressing, terminating, terminated), the AI (assistance_id), reference_type/reference_id (the call or conversation) and activeflow_id.',
      inputSchema: {
        status: z.enum(['initiating', 'progressing', 'terminating', 'terminated']).optional().describe('Only sessions in this state.'),
        reference_type: z.enum(['call', 'conversation', 'task']).optional().describe('Only sessions on calls, text conversations or tasks.'),
        reference_id: z.string().optional().describe('Only the sessions of this call or conversation (its id).'),
        ...pageShape,
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/aicalls', query: args })),
  );

  server.registerTool(
    'get_aicall',
    {
      title: 'Get an AIcall',
      description: 'Reads one AIcall: its status, the AI settings it runs with, tm_end, and cost (micro-units charged so far).',
      inputSchema: { id: idSchema.describe('The AIcall\'s id.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'GET', path: `/v1.0/aicalls/${encodeURIComponent(id)}` })),
  );

  server.registerTool(
    'get_aicall_conversation',
    {
      title: 'Read an AIcall\'s conversation',
      description:
        'Reads the messages of an AIcall in the order they were said (system prompts, the caller as user, the AI as assistant, tool calls and results). One page holds the newest messages (up to page_size); pass next_page_token for older ones.',
      inputSchema: { aicall_id: idSchema.describe('The AIcall\'s id (list_aicalls shows them).'), ...pageShape },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ aicall_id, ...page }) => {
      const body = (await send(client, { method: 'GET', path: '/v1.0/aimessages', query: { aicall_id, ...page } })) as MessagePage;
      // The API lists newest first; a conversation reads oldest first.
      return { aicall_id, messages: [...(body.result ?? [])].reverse(), next_page_token: body.next_page_token ?? '' };
    }),
  );

  server.registerTool(
    'send_aicall_message',
    {
      title: 'Send a message into an AIcall',
      description:
        'Sends a user message into a running AIcall; the AI answers it like something the caller said (by voice on a call). Refused when the session has ended (409), within a few seconds of its last change (429 SEND_COOLDOWN: wait and send again) or when the voice pipeline does not take it (503).',
      inputSchema: {
        aicall_id: idSchema.describe('The AIcall\'s id.'),
        content: z.string().min(1).describe('The message text.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async ({ aicall_id, content }) => send(client, { method: 'POST', path: '/v1.0/aimessages', body: { aicall_id, role: 'user', content } })),
  );

  server.registerTool(
    'list_summaries',
    {
      title: 'List summaries',
      description: 'Lists AI summaries of calls, transcriptions and recordings, newest first: status (progressing, done, failed), content once done, failure_reason.',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/aisummaries', query: args })),
  );

  server.registerTool(
    'get_summary',
    {
      title: 'Get a summary',
      description: 'Reads one AI summary.',
      inputSchema: { id: idSchema.describe('The summary\'s id.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'GET', path: `/v1.0/aisummaries/${encodeURIComponent(id)}` })),
  );
}
