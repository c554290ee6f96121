import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { ApiClient } from '../api-client.ts';
import { definedFields, handler, idSchema, pageShape, send, withoutSecrets } from '../tool-kit.ts';

/**
 * An AI's fields as the tools take them. Loosely typed on purpose: the API checks every rule
 * and its error names the field, so a model learns the rule from the platform itself.
 */
const aiFieldsShape = {
  name: z.string().optional().describe('A name for people (at most 255 characters).'),
  detail: z.string().optional().describe('A description for people.'),
  engine_model: z
    .string()
    .describe(
      'The LLM as <provider>.<model>, e.g. openai.gpt-4o-mini, anthropic.claude-3-5-haiku-latest, gemini.gemini-2.0-flash. Providers: anthropic, aws, azure, cerebras, deepseek, fireworks, gemini, grok, groq, mistral, nvidia, ollama, openai, openrouter, perplexity, qwen, sambanova, together; local.scripted is the offline engine that follows a JSON script given as init_prompt.',
    ),
  engine_key: z
    .string()
    .optional()
    .describe('The customer\'s own key for the LLM provider. Write-only: it is stored encrypted and never shown again; responses show engine_key_set instead. "" removes it.'),
  init_prompt: z.string().optional().describe('The system prompt: who the AI is and how it behaves (for local.scripted: its JSON script).'),
  parameter: z.record(z.string(), z.unknown()).optional().describe('Free JSON given to the LLM as context; string values may hold ${variable} placeholders of the flow.'),
  tts_type: z.string().optional().describe('Text-to-speech engine for calls: aws, azure, cartesia, deepgram, elevenlabs, google, openai, local (offline), or "" for the default.'),
  tts_voice_id: z.string().optional().describe('The voice of tts_type ("" = its default for the language).'),
  stt_type: z.string().optional().describe('Speech-to-text engine for calls: cartesia, deepgram, elevenlabs, local, or "" for the default.'),
  stt_language: z.string().optional().describe('The callers\' language as BCP-47 (en-US, ko-KR), or "" to detect it.'),
  tool_names: z
    .array(z.string())
    .optional()
    .describe('Tools the AI may use during a conversation: ["all"], [] or names from connect_call, send_email, send_message, stop_media, stop_service, stop_flow, set_variables, get_variables, get_aicall_messages, search_knowledge.'),
  knowledgebase_ids: z.array(z.string()).optional().describe('Knowledge bases (ids) the AI searches with search_knowledge.'),
  vad_config: z.record(z.string(), z.unknown()).optional().describe('Voice activity detection: confidence and min_volume 0-1, start_secs and stop_secs 0-30.'),
  smart_turn_enabled: z.boolean().optional().describe('Whether a model decides when the caller has finished speaking.'),
  turn_config: z.record(z.string(), z.unknown()).optional().describe('How the AI takes turns: end_of_turn, interruption, stall ({} takes every default).'),
  media_transport: z.string().optional().describe('How call audio reaches the AI: rtp, websocket, or "" for the deployment\'s default.'),
  fallback_engine_model: z.string().optional().describe('An LLM (<provider>.<model>) tried when engine_model stalls; "" = none.'),
  fallback_engine_key: z.string().optional().describe('The fallback LLM\'s own key; write-only like engine_key.'),
  fallback_tts_type: z.string().optional().describe('A TTS engine tried when tts_type stalls; "" = none.'),
  fallback_tts_voice_id: z.string().optional().describe('The fallback TTS\'s voice.'),
  no_input_timeout: z.number().optional().describe('Seconds of caller silence after the AI spoke before it asks again (0 = off).'),
  no_input_max: z.number().int().optional().describe('Re-prompts without an answer before the session ends (1-10).'),
};

/**
 * The fields `PUT /v1.0/ais/{id}` resets to their defaults when a body leaves them out; an
 * update sends their current values unless it changes them. The others keep their stored
 * values when left out, so an update sends them only when it changes them.
 */
export const aiReplacedFields = ['name', 'detail', 'engine_model', 'parameter', 'init_prompt', 'tts_type', 'tts_voice_id', 'stt_type', 'stt_language', 'tool_names'] as const;

/** Registers the tools for AIs: create, update, list, get, delete. */
export function registerAiTools(server: McpServer, client: ApiClient): void {
  server.registerTool(
    'create_ai',
    {
      title: 'Create an AI',
      description:
        'Creates an AI agent that answers calls and text conversations. Only engine_model is required. To have it answer a phone number: create a flow whose actions are [{"type":"answer"},{"type":"ai_talk","option":{"ai_id":"<AI id>"}},{"type":"hangup"}], then a number with that flow as call_flow_id. A bad field is a tool error naming the field.',
      inputSchema: aiFieldsShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    handler(async (args) => withoutSecrets(await send(client, { method: 'POST', path: '/v1.0/ais', body: definedFields(args) }))),
  );

  server.registerTool(
    'update_ai',
    {
      title: 'Update an AI',
      description:
        'Changes the given fields of an AI and keeps every other field as it is (the tool reads the AI first and sends its current values for the fields it does not change). engine_key "" removes the stored key.',
      inputSchema: { id: idSchema.describe('The AI\'s id.'), ...aiFieldsShape, engine_model: aiFieldsShape.engine_model.optional() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id, ...changes }) => {
      const path = `/v1.0/ais/${encodeURIComponent(id)}`;
      const current = (await send(client, { method: 'GET', path })) as Record<string, unknown>;
      const body = { ...definedFields(current, aiReplacedFields), ...definedFields(changes) };
      return withoutSecrets(await send(client, { method: 'PUT', path, body }));
    }),
  );

  server.registerTool(
    'list_ais',
    {
      title: 'List AIs',
      description: 'Lists the customer\'s AIs, newest first, with next_page_token for the next page ("" = last page).',
      inputSchema: pageShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async (args) => withoutSecrets(await send(client, { method: 'GET', path: '/v1.0/ais', query: args }))),
  );

  server.registerTool(
    'get_ai',
    {
      title: 'Get an AI',
      description: 'Reads one AI with all its settings (engine_key is never shown: engine_key_set says whether one is stored).',
      inputSchema: { id: idSchema.describe('The AI\'s id.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => withoutSecrets(await send(client, { method: 'GET', path: `/v1.0/ais/${encodeURIComponent(id)}` }))),
  );

  server.registerTool(
    'delete_ai',
    {
      title: 'Delete an AI',
      description: 'Deletes an AI: it is no longer listed, read or started by flows. Answers the deleted AI.',
      inputSchema: { id: idSchema.describe('The AI\'s id.') },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    handler(async ({ id }) => withoutSecrets(await send(client, { method: 'DELETE', path: `/v1.0/ais/${encodeURIComponent(id)}` }))),
  );
}
