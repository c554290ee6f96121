import { appError, isAppError, newId, rpcCall, updateTimestamps, type Ai, type Bus, type Logger } from '@avp/shared';
import { changeAicallStatus, createAicall, terminateAicall } from '../domain/aicalls/aicall-service.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { voiceOnlyTools } from '../tools/tool-executor.ts';
import type { FlowGiveBacks } from './flow-give-back.ts';
import { callFlowManager } from './flow-manager-rpc.ts';
import { pipelineAiSettings } from './pipeline-ai-settings.ts';
import { storedHistory } from './session-resume.ts';
import { renderSystemPrompts, type OfferedTool, type ServiceStart } from './session-start.ts';
import { teamParameter, teamStart } from './team-sessions.ts';

/** The platform's first system prompt of an `ai_task`: no one to talk to, tools to act with. */
export const defaultTaskPrompt = [
  'You are running one step of an automated flow; nobody reads what you write and nobody will answer you.',
  'Do the task described in the next instructions with the tools you are offered, calling them in the order the task needs;',
  'record every result the flow needs with set_variables (it is the only way the flow sees it).',
  'Never ask questions: decide from the data you are given, and if it is not enough, record that instead of guessing.',
  'When everything is done, answer with one short plain sentence saying what you did.',
].join(' ');

export interface TaskSessionsOptions {
  domain: DomainContext;
  bus: Bus;
  logger: Logger;
  serviceName: string;
  /** The tools offered for an AI's `tool_names` (voice-only ones are left out). */
  tools?: (toolNames: string[]) => OfferedTool[];
  /** Hands the flow back when a task ends (retried while flow-manager cannot be reached). */
  giveBacks: FlowGiveBacks;
  /** Longest a task may run before the flow goes on without it (AICALL_TASK_TIMEOUT_SECONDS, default 30 s). */
  timeoutMs?: number;
  /** Most LLM requests one task may make (each tool round is one; default 10). */
  maxLlmRequests?: number;
  /** The platform's first system prompt (default defaultTaskPrompt). */
  taskPrompt?: string;
  /** How long the end of a task waits for flow-manager to have pushed its block (default 10 s). */
  handBackWaitMs?: number;
}

/**
 * `ai_task`: a non-real-time AI step of a flow (a message, API or post-call flow). The AI runs
 * on the activeflow's context (its variables, given as JSON) with its tools and no audio, as
 * one text turn in pipeline-manager (`POST /v1/text_turns`, with tool rounds), while the flow
 * waits in a block whose id is the AIcall's. When the LLM has finished its tool rounds, or after
 * `timeoutMs`, the AIcall ends and the flow goes on after ai_task. A task cut by the timeout has
 * its turn superseded, so its remaining tool calls are refused. LLM tokens are billed to the
 * AIcall like a text conversation's.
 */
export class TaskSessions {
  private readonly logger: Logger;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: TaskSessionsOptions) {
    this.logger = options.logger.child({ component: 'task-sessions' });
  }

  /** Waits for the tasks under way (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** `POST /v1/services/type/task`: starts the task and answers the block the flow waits in. */
  async startFromFlow(input: ServiceStart): Promise<{ id: string; type: 'aicall'; push_actions: unknown[] }> {
    const { domain } = this.options;
    if (!input.activeflow_id) throw appError('VALIDATION_FAILED', 'activeflow_id: ai_task runs in a flow.');
    // Also the ownership check: flow-manager answers 404 for another customer's activeflow.
    const variables = await this.flowVariables(input.customer_id, input.activeflow_id);
    await domain.billing?.assertCanStart(input.customer_id);
    // A team's task runs as its start member (one text turn: no hand-overs).
    const team = input.assistance_type === 'team' ? await teamStart(domain, input.customer_id, input.assistance_id) : undefined;
    const ai = team ? { ...team.ai, parameter: teamParameter(team) } : await getAi(domain, input.customer_id, input.assistance_id);
    const aicall = await createAicall(domain, input.customer_id, {
      assistance_type: input.assistance_type,
      assistance_id: team ? team.team.id : ai.id,
      reference_type: 'task',
      reference_id: input.activeflow_id,
      activeflow_id: input.activeflow_id,
    });
    const prompts = await renderSystemPrompts(this.options.taskPrompt ?? defaultTaskPrompt, ai.init_prompt, ai.parameter, async () => variables);
    for (const content of prompts) await recordAimessage(domain, aicall.id, { role: 'system', direction: 'outgoing', content });
    await recordAimessage(domain, aicall.id, { role: 'user', direction: 'outgoing', content: `The flow's variables (JSON): ${JSON.stringify(variables)}` });
    const turnId = newId();
    await domain.db.updateTable('aicalls').set({ text_turn_id: turnId, ...updateTimestamps() }).where('id', '=', aicall.id).execute();
    await changeAicallStatus(domain, aicall.id, 'progressing', aicall.customer_id);
    this.logger.info({ aicallId: aicall.id, activeflowId: input.activeflow_id }, 'task started');
    const run = this.run(aicall.id, input.customer_id, input.activeflow_id, ai, turnId).finally(() => this.running.delete(run));
    this.running.add(run);
    // The flow waits in a block whose id is the AIcall's; the end of the task releases it.
    return { id: aicall.id, type: 'aicall', push_actions: [{ id: aicall.id, type: 'block' }] };
  }

  private async run(aicallId: string, customerId: string, activeflowId: string, ai: Ai, turnId: string): Promise<void> {
    const { domain } = this.options;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const startedAt = Date.now();
    let outcome = 'done';
    try {
      const reply = await rpcCall<{ final_text: string; llm_requests: number }>(
        this.options.bus,
        'pipeline-manager',
        'POST',
        '/v1/text_turns',
        {
          aicall_id: aicallId,
          customer_id: customerId,
          turn_id: turnId,
          ai: await pipelineAiSettings(domain, customerId, ai, async () => ({})),
          messages: await storedHistory(domain, aicallId),
          tools: this.offeredTools(ai),
          max_llm_requests: this.options.maxLlmRequests ?? 10,
        },
        { publisher: this.options.serviceName, timeoutMs },
      );
      if (reply.final_text !== '') await recordAimessage(domain, aicallId, { role: 'assistant', direction: 'incoming', content: reply.final_text });
      this.logger.info({ aicallId, llmRequests: reply.llm_requests, ms: Date.now() - startedAt }, 'task finished');
    } catch (error) {
      const timedOut = isAppError(error) && error.reason === 'RPC_TIMEOUT';
      outcome = timedOut ? 'timed out' : 'failed';
      // Whatever the LLM still does for this task is refused from now on.
      await domain.db.updateTable('aicalls').set({ text_turn_id: newId() }).where('id', '=', aicallId).execute().catch(() => undefined);
      const reason = timedOut ? `The task did not finish within ${Math.round(timeoutMs / 1000)} s; the flow goes on.` : `The task failed: ${error instanceof Error ? error.message : String(error)}`;
      this.logger.warn({ aicallId, err: error }, 'task ended without finishing');
      await recordAimessage(domain, aicallId, { role: 'notification', direction: 'incoming', content: reason }).catch(() => undefined);
    }
    await terminateAicall(domain, customerId, aicallId).catch((error: unknown) => this.logger.warn({ aicallId, err: error }, 'could not end the task AIcall'));
    await this.handBack(customerId, activeflowId, aicallId, outcome);
  }

  /**
   * The flow goes on after ai_task. flow-manager pushes the task's block only once it has the
   * answer of startFromFlow, so a task that ends at once may find it not there yet (409): that
   * is tried again for a while before the retried hand-back takes over.
   */
  private async handBack(customerId: string, activeflowId: string, aicallId: string, outcome: string): Promise<void> {
    const deadline = Date.now() + (this.options.handBackWaitMs ?? 10_000);
    for (;;) {
      try {
        await callFlowManager(this.options, customerId, 'POST', `/v1/activeflows/${activeflowId}/service_stop`, { service_id: aicallId, actions: [] });
        this.logger.info({ aicallId, activeflowId, outcome }, 'task ended; the flow goes on');
        return;
      } catch (error) {
        const notYet = isAppError(error) && error.reason === 'INVALID_STATE' && Date.now() < deadline;
        if (notYet) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        if (isAppError(error) && (error.httpStatus === 404 || error.httpStatus === 409)) {
          this.logger.warn({ aicallId, activeflowId, err: error }, 'the flow did not take the end of the task (it ended or moved on)');
          return;
        }
        await this.options.giveBacks.handBack({ customerId, activeflowId, aicallId, action: 'service_stop', body: { service_id: aicallId, actions: [] } });
        return;
      }
    }
  }

  /** The AI's tools without the voice-only ones (and search_knowledge only with a knowledge base). */
  private offeredTools(ai: Ai): OfferedTool[] {
    return (this.options.tools?.(ai.tool_names) ?? []).filter(
      (tool) => !voiceOnlyTools.has(tool.name) && (tool.name !== 'search_knowledge' || ai.knowledgebase_ids.length > 0),
    );
  }

  private async flowVariables(customerId: string, activeflowId: string): Promise<Record<string, string>> {
    return (await callFlowManager<{ variables: Record<string, string> }>(this.options, customerId, 'GET', `/v1/variables/${activeflowId}`)).variables;
  }
}
