import { isAppError, type Bus, type Logger } from '@avp/shared';
import { z } from 'zod';
import { findAicall } from '../domain/aicalls/aicall-repository.ts';
import { listAimessagePage } from '../domain/aimessages/aimessage-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { EmailSender, type EmailSettings } from './send-email.ts';
import { SmsSender, type SmsSettings } from './send-message.ts';
import { searchKnowledge } from './search-knowledge.ts';
import { toolCatalog, toolDefinitions } from './tool-catalog.ts';
import { currentTeamMember } from '../sessions/team-sessions.ts';
import { runTransition, type TransitionResult } from './team-transition.ts';

/** Tools that act on a live phone call: never offered, and refused, in a text conversation. */
export const voiceOnlyTools: ReadonlySet<string> = new Set(['connect_call', 'stop_media', 'stop_flow']);

/** A tool call as the LLM made it, with the customer whose session made it (the AIcall must be theirs). */
export const toolCallRequestSchema = z.object({
  customer_id: z.uuid(),
  id: z.string().min(1),
  name: z.string().min(1),
  /** The JSON text of the arguments. */
  arguments: z.string().default('{}'),
});
export type ToolCallRequest = z.infer<typeof toolCallRequestSchema>;

/** What a tool answers (the reference's result object, plus what the pipeline does next). */
export interface ToolResult {
  tool_call_id: string;
  result: 'success' | 'failed';
  message: string;
  resource_type: string;
  resource_id: string;
  /** Whether the LLM runs again with this result. */
  run_llm: boolean;
  /** Set by tools that end the session: the pipeline ends with this reason after its audio has played. */
  end_session?: 'stop_service' | 'stop_flow' | 'connect_call';
  data?: unknown;
  /** A team's transition in a call: the new member's settings for the pipeline (team-transition.ts). */
  switch_member?: TransitionResult['switch_member'];
}

/** The external services some tools use; a tool whose service is not configured is not offered. */
export interface ToolExecutorOptions {
  /** SMTP for send_email. */
  email?: EmailSettings;
  /** The SMS provider for send_message. */
  sms?: SmsSettings;
}

/** What ending a session by a tool leaves to do once the pipeline is gone. */
export interface PendingEnd {
  actions?: unknown[];
}

/**
 * Runs the LLM's tool calls for a live AIcall. Failures (bad arguments, a tool the AI was
 * not given, flow-manager refusing) are results the LLM can read, never exceptions.
 */
export class ToolExecutor {
  /** Actions to run when a session ended by connect_call gives the flow back. */
  readonly pendingEnds = new Map<string, PendingEnd>();
  private readonly email?: EmailSender;
  private readonly sms?: SmsSender;

  constructor(
    private readonly domain: DomainContext,
    private readonly bus: Bus,
    private readonly logger: Logger,
    private readonly serviceName: string,
    options: ToolExecutorOptions = {},
  ) {
    if (options.email) this.email = new EmailSender(options.email, logger.child({ tool: 'send_email' }));
    if (options.sms) this.sms = new SmsSender(options.sms, logger.child({ tool: 'send_message' }));
  }

  /** Whether a tool can run here (send_email and send_message need their service configured). */
  isAvailable(name: string): boolean {
    if (name === 'send_email') return this.email !== undefined;
    if (name === 'send_message') return this.sms !== undefined;
    return true;
  }

  async execute(aicallId: string, call: ToolCallRequest): Promise<ToolResult> {
    const base = { tool_call_id: call.id, resource_type: '', resource_id: '', run_llm: true };
    const failed = (message: string): ToolResult => ({ ...base, result: 'failed', message });
    // Only the named customer's AIcall: another customer's is "does not exist", like a missing one.
    const aicall = await findAicall(this.domain.db, aicallId, call.customer_id);
    if (!aicall) return failed('The AI conversation does not exist.');
    if (aicall.status !== 'initiating' && aicall.status !== 'progressing') return failed(`The AI conversation is ${aicall.status}.`);
    // A team's session: the member answering now may hand over (its transitions), and runs its own AI's tools.
    const member = await currentTeamMember(this.domain, aicall).catch(() => undefined);
    if (member?.member.transitions.some((transition) => transition.function_name === call.name)) {
      const offer = (names: string[]) => toolDefinitions(names).filter((tool) => this.isAvailable(tool.name));
      const context = { domain: this.domain, bus: this.bus, serviceName: this.serviceName, offer };
      try {
        return { tool_call_id: call.id, ...(await runTransition(context, aicall, member, call.name)) };
      } catch (error) {
        this.logger.error({ err: error, aicallId, tool: call.name }, 'team transition failed');
        return failed(isAppError(error) ? error.message : 'The conversation could not be handed over.');
      }
    }
    const ai = await this.domain.db.selectFrom('ais').select('tool_names').where('id', '=', aicall.current_ai_id ?? aicall.assistance_id).executeTakeFirst();
    const allowed = ai?.tool_names ?? [];
    if (!toolCatalog[call.name as keyof typeof toolCatalog]) return failed(`There is no tool named ${call.name}.`);
    if (!allowed.includes('all') && !allowed.includes(call.name)) return failed(`The tool ${call.name} is not enabled for this AI.`);
    if (aicall.reference_type !== 'call' && voiceOnlyTools.has(call.name)) return failed(`The tool ${call.name} works in phone calls only; this is a text conversation.`);
    let args: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(call.arguments || '{}');
      args = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return failed('The arguments are not valid JSON.');
    }
    const activeflowId = aicall.activeflow_id;
    // Every flow-manager request names the AIcall's customer: flow-manager refuses (404) an
    // activeflow or call that is not theirs, whatever id the AIcall holds.
    const flowManager = <T>(method: 'GET' | 'POST', uri: string, data?: Record<string, unknown>) =>
      callFlowManager<T>({ bus: this.bus, serviceName: this.serviceName }, aicall.customer_id, method, uri, data);
    try {
      switch (call.name) {
        case 'stop_service':
          return { ...base, result: 'success', message: 'The AI conversation ends; the call continues with its flow.', run_llm: false, end_session: 'stop_service' };
        case 'stop_flow':
          return { ...base, result: 'success', message: 'The call ends.', run_llm: false, end_session: 'stop_flow' };
        case 'connect_call': {
          const { destinations } = z
            .object({ destinations: z.array(z.object({ type: z.enum(['tel', 'endpoint']), target: z.string().min(1).max(200) })).min(1).max(10) })
            .parse(args);
          if (!activeflowId) return failed('This AI conversation has no call flow to connect from.');
          this.pendingEnds.set(aicallId, { actions: [{ type: 'connect', option: { destinations } }] });
          return { ...base, result: 'success', message: `Connecting the caller to ${destinations.map((entry) => entry.target).join(', ')}.`, run_llm: false, end_session: 'connect_call' };
        }
        case 'stop_media': {
          if (aicall.reference_type !== 'call' || !aicall.reference_id) return failed('There is no call to stop media on.');
          await flowManager('POST', `/v1/calls/${aicall.reference_id}/media_stop`);
          return { ...base, result: 'success', message: 'Stopped the media playing to the caller.', resource_type: 'call', resource_id: aicall.reference_id };
        }
        case 'set_variables': {
          if (!activeflowId) return failed('This AI conversation has no flow to keep variables in.');
          const { variables } = z.object({ variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)) }).parse(args);
          await flowManager('POST', `/v1/variables/${activeflowId}/variables`, { variables });
          return { ...base, result: 'success', message: `Saved ${Object.keys(variables).join(', ')}.`, resource_type: 'activeflow', resource_id: activeflowId };
        }
        case 'get_variables': {
          if (!activeflowId) return failed('This AI conversation has no flow variables.');
          const { variables } = await flowManager<{ variables: Record<string, string> }>('GET', `/v1/variables/${activeflowId}`);
          return { ...base, result: 'success', message: 'The flow variables.', resource_type: 'activeflow', resource_id: activeflowId, data: variables };
        }
        case 'get_aicall_messages': {
          const { aicall_id: otherId, limit } = z.object({ aicall_id: z.uuid(), limit: z.number().int().min(1).max(100).default(20) }).parse(args);
          // Only the same customer's conversations: another customer's is "not found".
          const page = await listAimessagePage(this.domain, aicall.customer_id, otherId, { page_size: limit, page_token: '' });
          const messages = page.result
            .filter((message) => message.role !== 'system' && message.role !== 'notification')
            .reverse()
            .map((message) => ({ role: message.role, content: message.content, tm_create: message.tm_create }));
          return { ...base, result: 'success', message: `${messages.length} messages.`, resource_type: 'aicall', resource_id: otherId, data: messages };
        }
        case 'send_email':
          if (!this.email) return failed('E-mail is not configured on this platform; the e-mail was not sent.');
          return { ...base, ...(await this.email.send(args, aicallId)) };
        case 'send_message':
          if (!this.sms) return failed('Text messages (SMS) are not configured on this platform; the message was not sent.');
          return { ...base, ...(await this.sms.send(args, aicallId)) };
        case 'search_knowledge':
          return { ...base, ...(await searchKnowledge(this.domain, { customer_id: aicall.customer_id, assistance_id: aicall.current_ai_id ?? aicall.assistance_id }, args)) };
        default:
          return failed(`The tool ${call.name} is not available on this platform yet.`);
      }
    } catch (error) {
      if (error instanceof z.ZodError) return failed(`Invalid arguments: ${error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'} ${issue.message}`).join('; ')}`);
      if (isAppError(error)) return failed(error.message);
      this.logger.error({ err: error, aicallId, tool: call.name }, 'tool failed');
      return failed('The tool failed unexpectedly.');
    }
  }
}
