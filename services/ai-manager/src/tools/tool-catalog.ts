import type { ToolName } from '@avp/shared';
import type { OfferedTool } from '../sessions/session-service.ts';
import { searchKnowledgeParameters } from './search-knowledge.ts';
import { sendEmailParameters } from './send-email.ts';
import { sendMessageParameters } from './send-message.ts';

const destination = {
  type: 'object',
  properties: {
    type: { type: 'string', enum: ['tel', 'endpoint'], description: '"tel" for a phone number, "endpoint" for a SIP endpoint such as PJSIP/alice.' },
    target: { type: 'string', description: 'The phone number in E.164 form (+15551234567) or the endpoint.' },
  },
  required: ['type', 'target'],
};

/**
 * The tools the platform implements, with the JSON Schema of their arguments. The wording is
 * for the model: what the tool does and when to use it.
 */
export const toolCatalog: Partial<Record<ToolName, OfferedTool>> = {
  connect_call: {
    name: 'connect_call',
    description:
      'Transfers the caller to a person or another number. Say a short goodbye first; the AI conversation ends and the caller is connected.',
    parameters: { type: 'object', properties: { destinations: { type: 'array', items: destination, minItems: 1 } }, required: ['destinations'] },
  },
  send_email: {
    name: 'send_email',
    description:
      'Sends an e-mail from the platform, for example a confirmation, a summary of the call or details the caller asked for. Use only when the caller wants it and has given the address; spell an address back to the caller before sending if you are unsure of it. Tell the caller once it is sent.',
    parameters: sendEmailParameters,
  },
  send_message: {
    name: 'send_message',
    description:
      "Sends a text message (SMS) from the platform's number, for example a confirmation code, an address or a link the caller asked for. Use only when the caller wants it and the number is known; numbers are in international form (+ and country code).",
    parameters: sendMessageParameters,
  },
  stop_service: {
    name: 'stop_service',
    description: 'Ends the AI conversation when the task is done; the call continues with the rest of its flow. Say goodbye first.',
    parameters: { type: 'object', properties: {} },
  },
  stop_flow: {
    name: 'stop_flow',
    description: 'Ends the AI conversation and the whole call (hangs up). Use when the caller wants to end the call.',
    parameters: { type: 'object', properties: {} },
  },
  stop_media: {
    name: 'stop_media',
    description: 'Stops audio (music, announcements) playing to the caller.',
    parameters: { type: 'object', properties: {} },
  },
  set_variables: {
    name: 'set_variables',
    description: 'Saves facts from the conversation (name, appointment time, order number) as flow variables for later steps of the call.',
    parameters: {
      type: 'object',
      properties: { variables: { type: 'object', additionalProperties: { type: 'string' }, description: 'Variable names and their string values.' } },
      required: ['variables'],
    },
  },
  get_variables: {
    name: 'get_variables',
    description: 'Reads the flow variables of this call (for example customer data a previous step looked up).',
    parameters: { type: 'object', properties: {} },
  },
  get_aicall_messages: {
    name: 'get_aicall_messages',
    description: 'Reads the messages of an earlier AI conversation of the same customer, to pick up where it left off.',
    parameters: {
      type: 'object',
      properties: {
        aicall_id: { type: 'string', description: 'The id of the earlier AI conversation.' },
        limit: { type: 'integer', minimum: 1, maximum: 100, description: 'How many recent messages (default 20).' },
      },
      required: ['aicall_id'],
    },
  },
  search_knowledge: {
    name: 'search_knowledge',
    description:
      "Looks up the business's own knowledge base (documents it uploaded: policies, prices, products, FAQs) and returns the most relevant passages with their sources. Use it before answering questions about the business instead of guessing; if nothing is found, say you do not know.",
    parameters: searchKnowledgeParameters,
  },
};

/** The tools offered for an AI's `tool_names` (`["all"]`, a list, or `[]`); unimplemented names are left out. */
export function toolDefinitions(toolNames: string[]): OfferedTool[] {
  const names = toolNames.includes('all') ? Object.keys(toolCatalog) : toolNames;
  return names.map((name) => toolCatalog[name as ToolName]).filter((tool): tool is OfferedTool => tool !== undefined);
}
