import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApiClient } from '../api-client.ts';
import { definedFields, handler, idSchema, pageShape, send } from '../tool-kit.ts';

const actionSchema = z
  .looseObject({
    type: z.string().describe('answer, talk, play, hangup, connect, digits_receive, variable_set, branch, goto, block, ai_talk, ai, ai_task, ai_summary, transcribe_start, transcribe_stop, recording_start, recording_stop, external_media_start, external_media_stop'),
    option: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'The action\'s options, e.g. {"ai_id": "..."} for ai_talk, {"text": "Hello"} for talk. ai_talk/ai_task may carry an AI\'s settings inline instead of ai_id (engine_model, init_prompt, tts_type, tts_voice_id, stt_type, stt_language, tool_names, engine_key, ...: the fields of create_ai but name/detail); an inline engine_key is stored encrypted and shown only as engine_key_set.',
      ),
    id: z.string().optional().describe('The action\'s id (a UUID), to jump to it with next_id, goto or branch; assigned when left out.'),
    next_id: z.string().optional().describe('The id of the action that runs next instead of the following one.'),
  });

const flowFieldsShape = {
  name: z.string().optional().describe('A name for people.'),
  detail: z.string().optional().describe('A description for people.'),
  actions: z
    .array(actionSchema)
    .optional()
    .describe(
      'The steps, run in order. A call answered by an AI: [{"type":"answer"},{"type":"ai_talk","option":{"ai_id":"<AI id>"}},{"type":"hangup"}]. Strings may hold ${variable} placeholders. A bad action is a tool error naming its position and type.',
    ),
  on_complete_flow_id: z.string().nullable().optional().describe('A flow (id) run when this one completes; null = none.'),
};

/** The fields `PUT /v1.0/flows/{id}` replaces (all of them). */
const flowFields = ['name', 'detail', 'actions', 'on_complete_flow_id'] as const;

/** Registers the tools for flows, numbers and calls (flow-manager's API). */
export function registerFlowTools(server: McpServer, client: ApiClient): void {
  server.registerTool(
    'create_flow',
    {
      title: 'Create a flow',
      description: 'Creates a flow: the actions a call (or a text message) to a number runs. Bind it to a number with create_number or bind_number_flow.',
      inputSchema: flowFieldsShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'POST', path: '/v1.0/flows', body: definedFields(args) })),
  );

  server.registerTool(
    'update_flow',
    {
      title: 'Update a flow',
      description: 'Changes the given fields of a flow and keeps the others (actions given replace all the actions). Running calls keep the actions they started with.',
      inputSchema: { id: idSchema.describe('The flow\'s id.'), ...flowFieldsShape },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id, ...changes }) => {
      const path = `/v1.0/flows/${encodeURIComponent(id)}`;
      const current = (await send(client, { method: 'GET', path })) as Record<string, unknown>;
      return send(client, { method: 'PUT', path, body: { ...definedFields(current, flowFields), ...definedFields(changes) } });
    }),
  );

  server.registerTool(
    'list_flows',
    {
      title: 'List flows',
      description: 'Lists the customer\'s flows with their actions, with next_page_token for the next page ("" = last page).',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/flows', query: args })),
  );

  server.registerTool(
    'get_flow',
    {
      title: 'Get a flow',
      description: 'Reads one flow with its actions (each with its id).',
      inputSchema: { id: idSchema.describe('The flow\'s id.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'GET', path: `/v1.0/flows/${encodeURIComponent(id)}` })),
  );

  server.registerTool(
    'create_number',
    {
      title: 'Create a number',
      description: 'Adds a phone number (E.164 such as +15551234567, or an endpoint name) and the flows it runs. A number someone already has is a tool error (409).',
      inputSchema: {
        number: z.string().describe('The number: +15551234567 or an endpoint name.'),
        call_flow_id: z.string().nullable().optional().describe('The flow (id) calls to this number run; null = none.'),
        message_flow_id: z.string().nullable().optional().describe('The flow (id) inbound text messages to this number run; null = none.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'POST', path: '/v1.0/numbers', body: definedFields(args) })),
  );

  server.registerTool(
    'list_numbers',
    {
      title: 'List numbers',
      description: 'Lists the customer\'s numbers and the flows bound to them.',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/numbers', query: args })),
  );

  server.registerTool(
    'bind_number_flow',
    {
      title: 'Bind a flow to a number',
      description: 'Sets the flow a number runs for calls (call_flow_id) and/or for text messages (message_flow_id); a field left out keeps its flow, null unbinds it.',
      inputSchema: {
        id: idSchema.describe('The number\'s id (not the number itself; list_numbers shows both).'),
        call_flow_id: z.string().nullable().optional().describe('The flow (id) for calls; null unbinds.'),
        message_flow_id: z.string().nullable().optional().describe('The flow (id) for text messages; null unbinds.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id, ...changes }) => {
      const path = `/v1.0/numbers/${encodeURIComponent(id)}`;
      const current = (await send(client, { method: 'GET', path })) as Record<string, unknown>;
      const body = { ...definedFields(current, ['number', 'call_flow_id', 'message_flow_id']), ...definedFields(changes) };
      return send(client, { method: 'PUT', path, body });
    }),
  );

  server.registerTool(
    'list_calls',
    {
      title: 'List calls',
      description: 'Lists the customer\'s phone calls, newest first: status (ringing, progressing, hangup), source, destination, activeflow_id, hangup_by and hangup_reason.',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => send(client, { method: 'GET', path: '/v1.0/calls', query: args })),
  );

  server.registerTool(
    'get_call',
    {
      title: 'Get a call',
      description: 'Reads one phone call: status (dialing, ringing, progressing, hangup), direction, source, destination, activeflow_id (the flow it runs once answered), hangup_by and hangup_reason (normal, noanswer, busy, failed, cancel).',
      inputSchema: { id: idSchema.describe('The call\'s id (place_call or list_calls gives it).') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'GET', path: `/v1.0/calls/${encodeURIComponent(id)}` })),
  );

  server.registerTool(
    'place_call',
    {
      title: 'Place an outbound call',
      description:
        'Calls phone numbers (one call per destination) and, once a call is answered, runs a flow on it: flow_id (a flow of yours) or inline actions, e.g. [{"type":"answer"},{"type":"ai_talk","option":{"ai_id":"<AI id>"}},{"type":"hangup"}] to have an AI talk to the called party (a reminder, a survey). Answers the calls as created (status dialing); follow one with get_call, its AI session with list_aicalls (by activeflow_id) and get_aicall_conversation. A call not answered within timeout seconds ends noanswer, a busy one busy, and no flow runs for them. This dials real numbers: confirm the destination with the user first.',
      inputSchema: {
        source: z.string().min(1).describe('The caller id the called party sees, e.g. "+15551234567".'),
        destinations: z.array(z.string().min(1)).min(1).max(10).describe('The numbers to call ("+15557654321"), 1-10; each gets its own call.'),
        flow_id: z.string().optional().describe('The flow (id) to run on an answered call; leave out to give actions instead.'),
        actions: z.array(actionSchema).optional().describe('The actions to run on an answered call when there is no flow_id, checked like a flow\'s.'),
        timeout: z.number().int().min(1).max(300).optional().describe('Seconds each call rings before it ends noanswer (default 30).'),
        variables: z.record(z.string(), z.string()).optional().describe('Variables the flow starts with (e.g. {"customer_name":"Ada"}), usable as ${customer_name} in prompts and actions.'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    handler(async ({ source, destinations, ...rest }) =>
      send(client, {
        method: 'POST',
        path: '/v1.0/calls',
        body: { source: { type: 'tel', target: source }, destinations: destinations.map((target) => ({ type: 'tel', target })), ...definedFields(rest) },
      }),
    ),
  );

  server.registerTool(
    'hangup_call',
    {
      title: 'Hang up a call',
      description: 'Ends a call that is ringing or in progress (an unanswered outbound call ends cancel). A call that has already ended is left as it is.',
      inputSchema: { id: idSchema.describe('The call\'s id.') },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => send(client, { method: 'POST', path: `/v1.0/calls/${encodeURIComponent(id)}/hangup` })),
  );
}
