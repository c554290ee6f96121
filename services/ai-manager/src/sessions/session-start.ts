import { appError, isAppError, rpcCall, type AicallCreate, type Bus, type Logger } from '@avp/shared';
import { z } from 'zod';
import { setPipelineInstance } from '../domain/aicalls/aicall-repository.ts';
import { createAicall, terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { notFound } from '../domain/not-found.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from './flow-manager-rpc.ts';
import { pipelineAiSettings, sessionDeadline } from './pipeline-ai-settings.ts';
import { memberTools, teamParameter, teamStart } from './team-sessions.ts';

/** A tool as the LLM is offered it. */
export interface OfferedTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** SessionService's options that starting sessions uses. */
export interface SessionStartOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The tools offered for an AI's `tool_names` (default: none). */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** The platform's own system prompt, first in every session. */
  platformPrompt?: string;
  /** Longest wait for pipeline-manager to start a pipeline (default 20 s). */
  pipelineStartTimeoutMs?: number;
  /** Sessions started through the API wait this long for the greeting's first LLM output (default 8000 ms). */
  confirmLlmMs?: number;
}

/** A session that could not start; its AIcall exists and is terminated with the reason. */
class SessionStartFailure extends Error {
  constructor(
    readonly aicallId: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** What flow-manager's `ai_talk` / `ai_task` send (`POST /v1/services/type/aicall`). */
export const serviceStartSchema = z.object({
  customer_id: z.uuid(),
  activeflow_id: z.uuid().nullable().default(null),
  /** `team`: `assistance_id` is a team's; the session starts with its start member. */
  assistance_type: z.enum(['ai', 'team']).default('ai'),
  assistance_id: z.uuid(),
  reference_type: z.enum(['call', 'conversation', 'api', 'ai', 'flow']).default('call'),
  reference_id: z.string().nullable().default(null),
  /** `ai_talk.duration`: the voice session's time limit in seconds (0 = none; text sessions ignore it). */
  duration: z.number().int().min(0).max(2_147_483_647).default(0),
});
export type ServiceStart = z.infer<typeof serviceStartSchema>;

export const defaultPlatformPrompt = [
  'You are a voice assistant on a phone call run by an automated platform.',
  'Speak in short, natural sentences; no lists, markdown or emoji: everything you write is read aloud.',
  'Use the tools you are offered when the caller asks for something they do; never invent results.',
  'If the caller says nothing useful, ask one short question.',
].join(' ');

/**
 * A session's system prompts, in order: the platform's, the AI's `init_prompt` with flow
 * variables filling `${name}` (placeholders that are not flow variables stay as they are: a
 * local.scripted script uses its own), and the AI's parameters as JSON.
 */
export async function renderSystemPrompts(
  platformPrompt: string,
  initPrompt: string,
  parameter: Record<string, unknown>,
  flowVariables: () => Promise<Record<string, string>>,
): Promise<string[]> {
  const prompts = [platformPrompt];
  if (initPrompt.trim() !== '') {
    const variables = await flowVariables();
    prompts.push(initPrompt.replace(/\$\{(.*?)\}/g, (placeholder, name: string) => variables[name.trim()] ?? placeholder));
  }
  if (Object.keys(parameter).length > 0) prompts.push(`Parameters for this conversation (JSON): ${JSON.stringify(parameter)}`);
  return prompts;
}

/**
 * The start side of AI sessions: the AIcall record, its system prompts, the flow variables,
 * and the pipeline in pipeline-manager for a call. A session that cannot start after its
 * AIcall exists ends it with the reason. SessionService hands it its options and its logger
 * (component `sessions`).
 */
export class SessionStarter {
  private readonly logger: Logger;

  constructor(private readonly options: SessionStartOptions) {
    this.logger = options.logger;
  }

  /** `ai_talk`: creates and starts the session; answers the actions flow-manager pushes. */
  async startFromFlow(input: ServiceStart): Promise<{ id: string; type: 'aicall'; push_actions: unknown[] }> {
    // The activeflow must be the customer's, and for a call that call's own flow; otherwise
    // nothing is stored and the answer is a 404 (flow-manager only ever sends its own).
    if (input.activeflow_id) {
      await this.assertOwnActiveflow(input.customer_id, input.activeflow_id, input.reference_type === 'call' ? (input.reference_id ?? '') : undefined);
    }
    try {
      const aicallId = await this.launch(input);
      // The flow waits in a block whose id is the AIcall's; stop_service / continue release it.
      return { id: aicallId, type: 'aicall', push_actions: [{ id: aicallId, type: 'block' }] };
    } catch (error) {
      // The session could not start (the AIcall records why): the flow goes on after ai_talk.
      if (error instanceof SessionStartFailure) return { id: error.aicallId, type: 'aicall', push_actions: [] };
      throw error;
    }
  }

  /**
   * `POST /v1.0/aicalls` with `reference_type: call`: an AI session on a live call of the
   * customer's, started at once. Unlike ai_talk, failures are the answer: 404 for another
   * customer's call or AI, 409 for a call that has ended, 402 below the minimum balance, and a
   * provider that refuses the engine key (or is down) before the greeting is a 500
   * `PROVIDER_ERROR`; the AIcall of a failed start is terminated with the reason.
   */
  async startForCall(customerId: string, body: AicallCreate): Promise<string> {
    const { domain } = this.options;
    const callId = body.reference_id;
    if (!callId) throw appError('VALIDATION_FAILED', 'reference_id: required when reference_type is call');
    if (body.assistance_type === 'team') await teamStart(domain, customerId, body.assistance_id);
    else await getAi(domain, customerId, body.assistance_id);
    const call = await this.flowManager<{ customer_id: string; status: string; activeflow_id?: string | null }>(customerId, 'GET', `/v1/calls/${callId}`).catch(
      (error: unknown) => {
        if (isAppError(error) && error.httpStatus === 404) throw notFound('call');
        throw error;
      },
    );
    // flow-manager found the call under this customer; the comparison guards against a stand-in that does not.
    if (call.customer_id !== customerId) throw notFound('call');
    // A session on a call works on that call's own flow: any other activeflow (another
    // customer's above all) is "not found" before anything is stored or answered.
    const activeflowId = body.activeflow_id?.toLowerCase() ?? call.activeflow_id ?? null;
    if (activeflowId !== (call.activeflow_id ?? null)) throw notFound('activeflow');
    if (call.status === 'hangup') throw appError('INVALID_STATE', 'The call has ended.');
    await domain.billing?.assertCanStart(customerId);
    if (call.status === 'ringing') await this.flowManager(customerId, 'POST', `/v1/calls/${callId}/answer`);
    try {
      return await this.launch(
        {
          customer_id: customerId,
          activeflow_id: activeflowId,
          assistance_type: body.assistance_type,
          assistance_id: body.assistance_id,
          reference_type: 'call',
          reference_id: callId,
          duration: 0,
        },
        { confirmLlmMs: this.options.confirmLlmMs ?? 8000 },
      );
    } catch (error) {
      throw error instanceof SessionStartFailure ? error.cause : error;
    }
  }

  /**
   * Creates the AIcall and starts the session: prompts, flow variables, the pipeline. Returns
   * the AIcall id; a failure after the AIcall exists terminates it with a notification and
   * throws a SessionStartFailure carrying the cause.
   */
  private async launch(input: ServiceStart, options: { confirmLlmMs?: number } = {}): Promise<string> {
    const { domain } = this.options;
    const voice = input.reference_type === 'call';
    // Billing first: below the minimum balance nothing starts; the AIcall only records why.
    const refusal = await domain.billing?.assertCanStart(input.customer_id).then(
      () => undefined,
      (error: unknown) => error,
    );
    // A team's session runs as its start member: that member's AI decides everything but the team's parameter.
    const team = input.assistance_type === 'team' ? await teamStart(domain, input.customer_id, input.assistance_id) : undefined;
    const aicall = await createAicall(
      domain,
      input.customer_id,
      {
        assistance_type: input.assistance_type,
        assistance_id: input.assistance_id,
        reference_type: voice ? 'call' : input.reference_type === 'conversation' ? 'conversation' : '',
        reference_id: voice || input.reference_type === 'conversation' ? input.reference_id : null,
        activeflow_id: input.activeflow_id,
      },
      { duration: input.duration, ...(team ? { team: { memberId: team.member.id, aiId: team.ai.id, parameter: team.team.parameter } } : {}) },
    );
    try {
      if (refusal) throw refusal;
      const ai = team ? { ...team.ai, parameter: teamParameter(team) } : await getAi(domain, input.customer_id, input.assistance_id);
      // The flow's variables, read once for the prompts and the voice, and only if needed.
      let variables: Promise<Record<string, string>> | undefined;
      const flowVariables = () => (variables ??= this.flowVariables(input.customer_id, input.activeflow_id));
      const prompts = await this.systemPrompts(ai.init_prompt, ai.parameter, flowVariables);
      for (const content of prompts) await recordAimessage(domain, aicall.id, { role: 'system', direction: 'outgoing', content });
      if (input.activeflow_id) {
        await this.flowManager(input.customer_id, 'POST', `/v1/variables/${input.activeflow_id}/variables`, {
          variables: {
            'voipbin.aicall.id': aicall.id,
            'voipbin.aicall.ai_id': ai.id,
            'voipbin.aicall.ai_engine_model': ai.engine_model,
            'voipbin.aicall.stt_language': ai.stt_language,
          },
        });
      }
      if (voice && input.reference_id) {
        const started = await rpcCall<{ pipeline_id: string; instance_id: string }>(
          this.options.bus,
          'pipeline-manager',
          'POST',
          '/v1/pipelines',
          {
            aicall_id: aicall.id,
            customer_id: input.customer_id,
            activeflow_id: input.activeflow_id,
            call_id: input.reference_id,
            ai: await pipelineAiSettings(domain, input.customer_id, ai, flowVariables),
            media_transport: ai.media_transport === '' ? null : ai.media_transport,
            messages: prompts.map((content) => ({ role: 'system', content })),
            // As in the reference, search_knowledge is not offered to an AI with no knowledge base.
            tools: team
              ? memberTools(team, this.options.tools)
              : (this.options.tools?.(ai.tool_names) ?? []).filter((tool) => tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
            ...(options.confirmLlmMs ? { confirm_llm_ms: options.confirmLlmMs } : {}),
            deadline_at: sessionDeadline(aicall),
          },
          { publisher: this.options.serviceName, timeoutMs: this.options.pipelineStartTimeoutMs ?? 20_000 },
        );
        // Stored, not kept in memory: stop and DTMF reach the pipeline from any ai-manager
        // instance, after a restart too, and the pipeline watchdog checks that instance.
        await setPipelineInstance(domain.db, aicall.id, started.instance_id);
      }
      this.logger.info({ aicallId: aicall.id, activeflowId: input.activeflow_id, reference: input.reference_type }, 'session started');
      return aicall.id;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn({ aicallId: aicall.id, err: error }, 'session could not start');
      await recordAimessage(domain, aicall.id, { role: 'notification', direction: 'incoming', content: `The session could not start: ${reason}` }).catch(
        () => undefined,
      );
      await terminateAicall(domain, input.customer_id, aicall.id).catch(() => undefined);
      throw new SessionStartFailure(aicall.id, error);
    }
  }

  private async flowVariables(customerId: string, activeflowId: string | null): Promise<Record<string, string>> {
    if (!activeflowId) return {};
    return (await this.flowManager<{ variables: Record<string, string> }>(customerId, 'GET', `/v1/variables/${activeflowId}`)).variables;
  }

  /**
   * A session bound to an activeflow reads and writes that flow's variables and can end it:
   * the activeflow must be the customer's and, with `callId`, the flow of that call (404 "No
   * activeflow" otherwise, exactly as for a missing one). Checked before anything is stored.
   */
  async assertOwnActiveflow(customerId: string, activeflowId: string, callId?: string): Promise<void> {
    const activeflow = await this.flowManager<{ reference_type: string; reference_id: string | null }>(customerId, 'GET', `/v1/activeflows/${activeflowId}`).catch(
      (error: unknown) => {
        if (isAppError(error) && error.httpStatus === 404) throw notFound('activeflow');
        throw error;
      },
    );
    if (callId !== undefined && !(activeflow.reference_type === 'call' && activeflow.reference_id === callId)) throw notFound('activeflow');
  }

  private systemPrompts(initPrompt: string, parameter: Record<string, unknown>, flowVariables: () => Promise<Record<string, string>>): Promise<string[]> {
    return renderSystemPrompts(this.options.platformPrompt ?? defaultPlatformPrompt, initPrompt, parameter, flowVariables);
  }

  private flowManager<T = unknown>(customerId: string, method: 'POST' | 'GET', uri: string, data?: Record<string, unknown>): Promise<T> {
    return callFlowManager<T>(this.options, customerId, method, uri, data);
  }
}
