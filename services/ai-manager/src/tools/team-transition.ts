import type { AicallRow } from '../domain/aicalls/aicall-repository.ts';
import type { DomainContext } from '../domain/context.ts';
import { callFlowManager } from '../sessions/flow-manager-rpc.ts';
import { pipelineAiSettings } from '../sessions/pipeline-ai-settings.ts';
import { defaultPlatformPrompt, type OfferedTool } from '../sessions/session-start.ts';
import { memberPrompts, memberTools, sessionPlatformPrompt, switchTeamMember, teamParameter, type TeamMemberRun } from '../sessions/team-sessions.ts';
import type { Bus } from '@avp/shared';

/** What a transition answers (ToolResult without the call's id). */
export interface TransitionResult {
  result: 'success' | 'failed';
  message: string;
  resource_type: string;
  resource_id: string;
  run_llm: boolean;
  /**
   * A voice session's new member: the pipeline's settings for it (the `ai` block of a
   * pipeline's start, its system prompts, its tools). The pipeline applies them and keeps
   * them from the LLM and the stored result.
   */
  switch_member?: { member_id: string; ai: Record<string, unknown>; messages: string[]; tools: OfferedTool[] };
}

/**
 * The LLM of a team's member called one of its transitions: the AIcall moves to the member it
 * names (team-sessions.ts records `member_switched`). In a call the answer carries the new
 * member's settings and the LLM runs again, now as the new member, so its first words follow
 * at once in its own voice. In a text conversation the turn ends here and the session
 * answers again as the new member (text-sessions.ts).
 */
export async function runTransition(
  context: { domain: DomainContext; bus: Bus; serviceName: string; offer: (toolNames: string[]) => OfferedTool[] },
  aicall: AicallRow,
  from: TeamMemberRun,
  functionName: string,
): Promise<TransitionResult> {
  const { domain } = context;
  const base = { resource_type: 'team', resource_id: from.team.id };
  const to = await switchTeamMember(domain, aicall, from, functionName);
  if (!to) {
    return { ...base, result: 'failed', message: 'The conversation could not be handed over: the team has changed, or it was handed over already.', run_llm: true };
  }
  const message = `The conversation is handed over to ${to.member.name || 'another member of the team'}, who answers from now on.`;
  if (aicall.reference_type !== 'call') return { ...base, result: 'success', message, run_llm: false };
  const flowVariables = async () =>
    aicall.activeflow_id
      ? (await callFlowManager<{ variables: Record<string, string> }>(context, aicall.customer_id, 'GET', `/v1/variables/${aicall.activeflow_id}`)).variables
      : {};
  const platformPrompt = await sessionPlatformPrompt(domain, aicall.id, defaultPlatformPrompt);
  return {
    ...base,
    result: 'success',
    message,
    run_llm: true,
    switch_member: {
      member_id: to.member.id,
      ai: await pipelineAiSettings(domain, aicall.customer_id, { ...to.ai, parameter: teamParameter(to) }, flowVariables),
      messages: await memberPrompts(to, platformPrompt, flowVariables),
      tools: memberTools(to, context.offer),
    },
  };
}
