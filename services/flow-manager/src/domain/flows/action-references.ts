import { appError, isAppError, rpcCall, type Action, type Bus } from '@avp/shared';
import type { DomainContext } from '../context.ts';

/** Whether an AI (or, with `kind: 'team'`, a team of AIs) exists and is the customer's (ai-manager's directory). */
export type AiLookup = (customerId: string, aiId: string, kind?: 'ai' | 'team') => Promise<boolean>;

/**
 * The AI lookup over the bus: ai-manager's `GET /v1/ais/{id}?customer_id=` (a team's:
 * `GET /v1/teams/{id}?customer_id=`) answers 404 for one that is missing or another customer's.
 * ai-manager unreachable is a 503: a flow is not saved unchecked.
 */
export function rpcAiLookup(bus: Bus, publisher: string): AiLookup {
  return async (customerId, aiId, kind = 'ai') => {
    try {
      const uri = `/v1/${kind === 'team' ? 'teams' : 'ais'}/${encodeURIComponent(aiId)}?customer_id=${encodeURIComponent(customerId)}`;
      await rpcCall(bus, 'ai-manager', 'GET', uri, undefined, { publisher, timeoutMs: 5000 });
      return true;
    } catch (error) {
      if (isAppError(error) && error.httpStatus === 404 && error.reason === 'RESOURCE_NOT_FOUND') return false;
      throw appError('SERVICE_UNAVAILABLE', 'The AIs the actions name could not be checked (ai-manager did not answer); try again.');
    }
  };
}

/** `assistance_type: team`: the team (ai-manager's `GET /v1/teams/{id}`) must be the customer's; the problem, if any. */
async function missingTeam(context: DomainContext, customerId: string, option: Record<string, unknown>): Promise<string | undefined> {
  const teamId = String(option.assistance_id ?? '');
  if (teamId && context.aiLookup && !(await context.aiLookup(customerId, teamId, 'team'))) return `assistance_id: no team ${teamId} of yours`;
  return undefined;
}

/** The actions that start an AI (`ai` is the overview's name of ai_talk). */
const aiActionTypes = new Set(['ai_talk', 'ai', 'ai_task']);

/**
 * What the actions name must exist and be the customer's, so that a flow that is saved also
 * runs: the AI or team of `ai_talk` / `ai` / `ai_task`, the on-end flow and AI of `ai_summary`. A
 * conference cannot be summarised (there are none): it is refused. Every problem is named by
 * position and type in one 400, like the schema's.
 */
export async function checkActionReferences(context: DomainContext, customerId: string, actions: readonly Action[]): Promise<void> {
  const problems: { index: number; type: string; message: string }[] = [];
  for (const [index, action] of actions.entries()) {
    const option = action.option as Record<string, unknown>;
    if (aiActionTypes.has(action.type)) {
      if (option.assistance_type === 'team') {
        const teamProblem = await missingTeam(context, customerId, option);
        if (teamProblem) problems.push({ index, type: action.type, message: teamProblem });
        continue;
      }
      const aiId = String(option.assistance_id ?? option.ai_id ?? '');
      if (aiId && context.aiLookup && !(await context.aiLookup(customerId, aiId))) {
        problems.push({ index, type: action.type, message: `${option.assistance_id ? 'assistance_id' : 'ai_id'}: no AI ${aiId} of yours` });
      }
    }
    if (action.type === 'ai_summary') {
      if (option.reference_type === 'conference') problems.push({ index, type: action.type, message: 'reference_type: this platform has no conferences to summarise' });
      const onEnd = option.on_end_flow_id;
      if (typeof onEnd === 'string') {
        const flow = await context.db.selectFrom('flows').select('id').where('id', '=', onEnd).where('customer_id', '=', customerId).where('tm_delete', 'is', null).executeTakeFirst();
        if (!flow) problems.push({ index, type: action.type, message: `on_end_flow_id: no flow ${onEnd} of yours` });
      }
      const summaryAi = option.ai_id;
      if (typeof summaryAi === 'string' && context.aiLookup && !(await context.aiLookup(customerId, summaryAi))) {
        problems.push({ index, type: action.type, message: `ai_id: no AI ${summaryAi} of yours` });
      }
    }
  }
  if (problems.length === 0) return;
  const message = problems.map((problem) => `actions[${problem.index}] (${problem.type}): ${problem.message}`).join('; ');
  throw appError('VALIDATION_FAILED', `Invalid flow actions: ${message}`, { problems });
}
