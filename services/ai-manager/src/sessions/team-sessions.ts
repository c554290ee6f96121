import { updateTimestamps, type Ai } from '@avp/shared';
import type { TeamMemberColumn } from '../db/tables.ts';
import type { AicallRow } from '../domain/aicalls/aicall-repository.ts';
import { recordAimessage } from '../domain/aimessages/aimessage-service.ts';
import { getAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { findTeam, type TeamRow } from '../domain/teams/team-repository.ts';
import { teamNotFound } from '../domain/teams/team-service.ts';
import type { HistoryMessage } from './session-resume.ts';
import { renderSystemPrompts, type OfferedTool } from './session-start.ts';

/** A team's member as a session runs it: the team, the member and the member's AI. */
export interface TeamMemberRun {
  team: TeamRow;
  member: TeamMemberColumn;
  ai: Ai;
}

/**
 * The member a new session of the team starts with (its start member). A missing team, or
 * another customer's, is a 404; so is a member's AI deleted since the team was saved.
 */
export async function teamStart(domain: DomainContext, customerId: string, teamId: string): Promise<TeamMemberRun> {
  const team = await findTeam(domain.db, customerId, teamId.toLowerCase());
  if (!team) throw teamNotFound();
  const member = team.members.find((entry) => entry.id === team.start_member_id) ?? team.members[0]!;
  return { team, member, ai: await getAi(domain, customerId, member.ai_id) };
}

/**
 * The member a team's AIcall runs as now (undefined for a single AI's): its current member
 * while that is still in the team, else the start member. The team is read as it is now (a
 * deleted team too: its sessions run to their end).
 */
export async function currentTeamMember(
  domain: DomainContext,
  row: Pick<AicallRow, 'customer_id' | 'assistance_type' | 'assistance_id' | 'current_member_id'>,
): Promise<TeamMemberRun | undefined> {
  if (row.assistance_type !== 'team') return undefined;
  const team = await findTeam(domain.db, row.customer_id, row.assistance_id, { deleted: true });
  if (!team) throw teamNotFound();
  const member =
    team.members.find((entry) => entry.id === row.current_member_id) ?? team.members.find((entry) => entry.id === team.start_member_id) ?? team.members[0]!;
  return { team, member, ai: await getAi(domain, row.customer_id, member.ai_id) };
}

/** The member's AI's parameter with the team's over it (the team's keys win). */
export function teamParameter(run: TeamMemberRun): Record<string, unknown> {
  return { ...run.ai.parameter, ...run.team.parameter };
}

/** A member's transitions as tools the LLM is offered: no arguments, the description as written. */
export function transitionTools(member: TeamMemberColumn): OfferedTool[] {
  return member.transitions.map((transition) => ({
    name: transition.function_name,
    description: transition.description || `Hands the conversation over to another member of the team.`,
    parameters: { type: 'object', properties: {} },
  }));
}

/**
 * The tools a member offers: its AI's (through `offer`, which knows what runs here;
 * search_knowledge only with a knowledge base; `exclude` drops, e.g., the voice-only ones in
 * a text conversation), then its transitions.
 */
export function memberTools(run: TeamMemberRun, offer: ((toolNames: string[]) => OfferedTool[]) | undefined, exclude: ReadonlySet<string> = new Set()): OfferedTool[] {
  const own = (offer?.(run.ai.tool_names) ?? []).filter(
    (tool) => !exclude.has(tool.name) && (tool.name !== 'search_knowledge' || run.ai.knowledgebase_ids.length > 0),
  );
  return [...own, ...transitionTools(run.member)];
}

/**
 * The history as the member sees it: the member's system prompts in place of the leading
 * system messages (the session's start member's), the conversation after them unchanged.
 */
export function memberHistory(history: readonly HistoryMessage[], prompts: readonly string[]): HistoryMessage[] {
  let leading = 0;
  while (history[leading]?.role === 'system') leading++;
  return [...prompts.map((content) => ({ role: 'system' as const, content })), ...history.slice(leading)];
}

/**
 * A member's system prompts: the platform's prompt the session started with, the member's AI's
 * `init_prompt` with flow variables filled in, and the parameters (the team's over the AI's).
 */
export function memberPrompts(run: TeamMemberRun, platformPrompt: string, flowVariables: () => Promise<Record<string, string>>): Promise<string[]> {
  return renderSystemPrompts(platformPrompt, run.ai.init_prompt, teamParameter(run), flowVariables);
}

/** The platform's prompt a session started with: its first stored system message. */
export async function sessionPlatformPrompt(domain: DomainContext, aicallId: string, fallback: string): Promise<string> {
  const first = await domain.db
    .selectFrom('aimessages')
    .select('content')
    .where('aicall_id', '=', aicallId)
    .where('role', '=', 'system')
    .orderBy('tm_create', 'asc')
    .orderBy('id', 'asc')
    .limit(1)
    .executeTakeFirst();
  return first?.content ?? fallback;
}

/** How a member shows in a `member_switched` notification. */
function memberView(run: TeamMemberRun) {
  const { ai } = run;
  return {
    id: run.member.id,
    name: run.member.name,
    ai: { id: ai.id, engine_model: ai.engine_model, tts_type: ai.tts_type, tts_voice_id: ai.tts_voice_id, stt_type: ai.stt_type },
  };
}

/**
 * Moves a team's AIcall from `from` to the member the transition names: `current_member_id`
 * and `current_ai_id` change only if the AIcall is still with `from` (two switches at once:
 * the first wins, the second answers undefined), then the `member_switched` notification is
 * stored (`aimessage_created`). Undefined also when the target is no longer in the team.
 */
export async function switchTeamMember(domain: DomainContext, aicall: AicallRow, from: TeamMemberRun, functionName: string): Promise<TeamMemberRun | undefined> {
  const transition = from.member.transitions.find((entry) => entry.function_name === functionName);
  const member = transition && from.team.members.find((entry) => entry.id === transition.next_member_id);
  if (!member) return undefined;
  const to: TeamMemberRun = { team: from.team, member, ai: await getAi(domain, aicall.customer_id, member.ai_id) };
  let query = domain.db
    .updateTable('aicalls')
    .set({ current_member_id: member.id, current_ai_id: to.ai.id, ...updateTimestamps() })
    .where('id', '=', aicall.id)
    .where('status', 'in', ['initiating', 'progressing']);
  query = aicall.current_member_id === null ? query.where('current_member_id', 'is', null) : query.where('current_member_id', '=', aicall.current_member_id);
  const moved = await query.returning('id').executeTakeFirst();
  if (!moved) return undefined;
  await recordAimessage(domain, aicall.id, {
    role: 'notification',
    direction: 'incoming',
    content: JSON.stringify({ type: 'member_switched', transition_function_name: functionName, from_member: memberView(from), to_member: memberView(to) }),
  });
  return to;
}
