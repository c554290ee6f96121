import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApiClient } from '../api-client.ts';
import { definedFields, handler, idSchema, pageShape, send } from '../tool-kit.ts';

/** The fields a team is written with (`POST` and `PUT /v1.0/teams`). */
const teamFieldsShape = {
  name: z.string().optional().describe('A name for people.'),
  detail: z.string().optional().describe('A description for people.'),
  start_member_id: z.string().describe('The id of the member a new session starts with (one of members[].id).'),
  members: z
    .array(
      z.object({
        id: z.string().describe('A UUID you choose for the member; transitions and start_member_id name it.'),
        name: z.string().optional().describe('The member\'s role, for people ("Billing").'),
        ai_id: z.string().describe('The id of one of your AIs: its model, prompt, voice and tools answer as this member.'),
        transitions: z
          .array(
            z.object({
              function_name: z.string().describe('The tool the member\'s LLM calls to hand over: 1-64 letters, digits, "_" or "-", not a built-in tool name (transfer_to_billing).'),
              description: z.string().optional().describe('When to call it, for the LLM ("The caller asks about a bill").'),
              next_member_id: z.string().describe('The member that takes the conversation over.'),
            }),
          )
          .optional(),
      }),
    )
    .describe('The team\'s members (1-20).'),
  parameter: z.record(z.string(), z.unknown()).optional().describe('Free JSON given to every member over its own AI\'s parameter.'),
};

/** Registers the tools for teams of AIs: create, get, list, replace, delete. */
export function registerTeamTools(server: McpServer, client: ApiClient): void {
  server.registerTool(
    'create_team',
    {
      title: 'Create a team of AIs',
      description:
        'Creates a team: AIs that hand one call or text conversation to each other (a receptionist passing billing questions to a billing AI). Each member is one of your AIs; its transitions are tools its LLM calls to hand over. Start it from a flow with ai_talk {assistance_type: "team", assistance_id: <team id>}.',
      inputSchema: teamFieldsShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'POST', path: '/v1.0/teams', body: definedFields(args) })),
  );

  server.registerTool(
    'replace_team',
    {
      title: 'Replace a team',
      description: 'Replaces every field of a team (read it with get_team first and send it back changed). Running sessions of the team take it at their next hand-over.',
      inputSchema: { id: idSchema.describe('The team\'s id.'), ...teamFieldsShape },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id, ...fields }) => send(client, { method: 'PUT', path: `/v1.0/teams/${encodeURIComponent(id)}`, body: definedFields(fields) })),
  );

  server.registerTool(
    'list_teams',
    {
      title: 'List teams',
      description: 'Lists the customer\'s teams of AIs, newest first, with next_page_token for the next page ("" = last page).',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/teams', query: args })),
  );

  server.registerTool(
    'get_team',
    {
      title: 'Get a team',
      description: 'Reads one team with its members and their transitions.',
      inputSchema: { id: idSchema.describe('The team\'s id.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'GET', path: `/v1.0/teams/${encodeURIComponent(id)}` })),
  );

  server.registerTool(
    'delete_team',
    {
      title: 'Delete a team',
      description: 'Deletes a team (its AIs stay). Sessions of the team already running go on to their end.',
      inputSchema: { id: idSchema.describe('The team\'s id.') },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'DELETE', path: `/v1.0/teams/${encodeURIComponent(id)}` })),
  );
}
