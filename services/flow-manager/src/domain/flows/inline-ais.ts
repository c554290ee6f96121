import {
  appError,
  hasInlineAiSettings,
  inlineAiProblemSchema,
  inlineAiReadOnlyFields,
  inlineAiSettingsOf,
  inlineAiSyncResultSchema,
  inlineAiView,
  isAppError,
  newId,
  rpcCall,
  withoutInlineAi,
  type Action,
  type InlineAiOwnerType,
  type InlineAiSync,
} from '@avp/shared';
import { z } from 'zod';
import { flowManagerServiceName, type DomainContext } from '../context.ts';

/** The actions that start an AI and may carry its settings inline (`ai` is the overview's name of ai_talk). */
const aiActionTypes = new Set(['ai_talk', 'ai', 'ai_task']);

/** What owns a set of inline AIs: the flow, the activeflow started with actions, or one request of outgoing calls. */
export interface InlineAiOwner {
  type: InlineAiOwnerType;
  id: string;
}

/** A new owner of inline AIs: an activeflow about to be started (its id), or one request of outgoing calls. */
export function newInlineAiOwner(type: InlineAiOwnerType): InlineAiOwner {
  return { type, id: newId() };
}

/** Whether an action carries an AI's settings inline (instead of naming an AI). */
export function isInlineAiAction(action: Action): boolean {
  return aiActionTypes.has(action.type) && hasInlineAiSettings(action.option);
}

/**
 * Saves the inline AI settings of `actions` with ai-manager (`PUT /v1/inline_ais` over the bus)
 * before the actions themselves are stored, and answers the actions as they are to be stored:
 * each inline action shows its AI's settings as ai-manager stored them (defaults filled in;
 * `PUT /v1.0/ais`'s rules for a re-saved action, matched by its id: a key left out is kept),
 * never a key (`engine_key_set`, `fallback_engine_key_set` instead), and the hidden AI's id
 * (`inline_ai_id`) that `ai_talk` starts its sessions with. What a client sent in the read-only
 * fields is dropped.
 *
 * ai-manager checks the settings with `POST /v1.0/ais`'s rules: a refusal is a 400 naming the
 * action's position, and nothing is stored. ai-manager unreachable is a 503: nothing is saved
 * unchecked. Without inline actions (and none before, `previous`) ai-manager is not asked.
 */
export async function saveInlineAis(
  context: DomainContext,
  customerId: string,
  owner: InlineAiOwner,
  actions: readonly Action[],
  previous: readonly Action[] = [],
): Promise<Action[]> {
  const cleaned = actions.map((action) => (aiActionTypes.has(action.type) ? { ...action, option: withoutReadOnly(action.option) } : action));
  const inline = cleaned.filter(isInlineAiAction);
  if (inline.length === 0 && !previous.some(isInlineAiAction)) return cleaned;
  const request: InlineAiSync = {
    customer_id: customerId,
    owner_type: owner.type,
    owner_id: owner.id,
    ais: inline.map((action) => ({ action_id: action.id, settings: inlineAiSettingsOf(action.option) })),
  };
  const { result } = await syncWithAiManager(context, request, cleaned);
  const saved = new Map(result.map((entry) => [entry.action_id.toLowerCase(), entry.ai]));
  return cleaned.map((action) => {
    if (!isInlineAiAction(action)) return action;
    const ai = saved.get(action.id.toLowerCase());
    if (!ai) throw appError('INTERNAL', `ai-manager did not answer the inline AI of action ${action.id}.`);
    return { ...action, option: { ...withoutInlineAi(action.option), ...inlineAiView(ai) } };
  });
}

/**
 * Deletes the owner's inline AIs (a deleted flow): asked only when `actions` had some.
 * ai-manager unreachable is a 503, so a flow is not deleted while its keys would stay behind.
 */
export async function removeInlineAis(context: DomainContext, customerId: string, owner: InlineAiOwner, actions: readonly Action[]): Promise<void> {
  if (!actions.some(isInlineAiAction)) return;
  await syncWithAiManager(context, { customer_id: customerId, owner_type: owner.type, owner_id: owner.id, ais: [] }, actions);
}

function withoutReadOnly(option: Record<string, unknown>): Record<string, unknown> {
  const readOnly = new Set<string>(inlineAiReadOnlyFields);
  return Object.fromEntries(Object.entries(option).filter(([key]) => !readOnly.has(key)));
}

const problemsSchema = z.object({ problems: z.array(inlineAiProblemSchema) });

async function syncWithAiManager(context: DomainContext, request: InlineAiSync, actions: readonly Action[]) {
  let reply: unknown;
  try {
    reply = await rpcCall(context.bus, 'ai-manager', 'PUT', '/v1/inline_ais', request, { publisher: flowManagerServiceName, timeoutMs: 5000 });
  } catch (error) {
    context.logger.warn({ err: error, ownerType: request.owner_type, ownerId: request.owner_id }, 'ai-manager did not save the inline AI settings');
    const refused = isAppError(error) && error.reason === 'VALIDATION_FAILED' ? problemsSchema.safeParse(error.details) : undefined;
    if (refused?.success) throw refusedActions(refused.data.problems, actions);
    throw appError('SERVICE_UNAVAILABLE', 'The inline AI settings could not be saved (ai-manager did not answer); try again.');
  }
  return inlineAiSyncResultSchema.parse(reply);
}

/** ai-manager's refusals as the 400 of a flow's actions: each named by its position and type. */
function refusedActions(problems: z.infer<typeof inlineAiProblemSchema>[], actions: readonly Action[]) {
  const positioned = problems.map((problem) => {
    const index = actions.findIndex((action) => action.id.toLowerCase() === problem.action_id.toLowerCase());
    return { index, type: actions[index]?.type ?? '?', message: problem.message };
  });
  const message = positioned.map((problem) => `actions[${problem.index}] (${problem.type}): ${problem.message}`).join('; ');
  return appError('VALIDATION_FAILED', `Invalid flow actions: ${message}`, { problems: positioned });
}
