import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ApiClient } from './api-client.ts';
import { registerResources } from './resources.ts';
import { registerAiTools } from './tools/ai-tools.ts';
import { registerAicallTools } from './tools/aicall-tools.ts';
import { registerFlowTools } from './tools/flow-tools.ts';
import { registerKnowledgebaseTools } from './tools/knowledgebase-tools.ts';
import { registerTeamTools } from './tools/team-tools.ts';

/** The name and version the server reports to MCP clients. */
export const mcpServerInfo = { name: 'ai-voice-platform', version: '0.1.0' };

const instructions = `Operates an AI voice platform through its public API, as the customer whose access key this session uses.
- AIs are voice and text agents (create_ai: engine_model is <provider>.<model>, init_prompt is the system prompt).
- Flows are the steps a call runs. An AI answers a phone number when a flow [{"type":"answer"},{"type":"ai_talk","option":{"ai_id":"<AI id>"}},{"type":"hangup"}] is bound to the number (create_number with call_flow_id, or bind_number_flow).
- A team (create_team) lets several AIs hand one call to each other through transition tools; a flow starts it with {"type":"ai_talk","option":{"assistance_type":"team","assistance_id":"<team id>"}}.
- A call with an AI makes an AIcall (list_aicalls); get_aicall_conversation reads what was said, send_aicall_message speaks into a running one.
- Errors come back as tool errors with the platform's status, reason and message (a VALIDATION_FAILED message names the field): fix the input and try again.
- place_call dials numbers and runs a flow (or inline actions, e.g. an ai_talk) once a call is answered; get_call follows it (dialing, ringing, progressing, hangup with hangup_reason), hangup_call ends it. It calls real phones: confirm destinations with the user.`;

/**
 * An MCP server for one API client (one access key): the platform's tools and the
 * `avp://ais/{id}` and `avp://flows/{id}` resources. Every tool is one or more requests to
 * the public API, so what the key may do is exactly what the API allows it.
 */
export function createPlatformMcpServer(client: ApiClient): McpServer {
  const server = new McpServer(mcpServerInfo, { instructions, capabilities: { tools: {}, resources: {} } });
  registerAiTools(server, client);
  registerFlowTools(server, client);
  registerKnowledgebaseTools(server, client);
  registerTeamTools(server, client);
  registerAicallTools(server, client);
  registerResources(server, client);
  return server;
}
