import {
  appError,
  inlineAiFieldsSchema,
  isAppError,
  newId,
  toAppError,
  type AiFields,
  type inlineAiReleaseSchema,
  type inlineAiSyncSchema,
  type InlineAiProblem,
  type InlineAiSyncResult,
} from '@avp/shared';
import type { z } from 'zod';
import type { DomainContext } from '../context.ts';
import { insertAi, replaceAi } from './ai-repository.ts';
import { newAiRowFields, replacedAiRowFields, toAi } from './ai-service.ts';
import { deleteInlineAisExcept, deleteReleasedInlineAi, findInlineAiForUpdate, lockInlineOwner, markInlineOwnersEnded } from './inline-ai-repository.ts';

type InlineAiSync = z.output<typeof inlineAiSyncSchema>;

/** A 400 naming each action whose settings were refused, with the message `POST /v1.0/ais` gives. */
function refused(problems: InlineAiProblem[]) {
  const message = problems.map((problem) => `action ${problem.action_id}: ${problem.message}`).join('; ');
  return appError('VALIDATION_FAILED', `Invalid inline AI settings: ${message}`, { problems });
}

/** The message of a refusal while storing (a fallback key with no model, a knowledge base that is not the customer's), named by its field. */
function storeProblem(error: unknown): string | undefined {
  if (!isAppError(error) || error.httpStatus >= 500) return undefined;
  // The one lookup that can miss: checkedKnowledgebaseIds' knowledge bases (a 404 on POST /v1.0/ais).
  return error.reason === 'RESOURCE_NOT_FOUND' ? `knowledgebase_ids: ${error.message}` : error.message;
}

/**
 * Makes the owner's inline AIs exactly the given ones (flow-manager's `PUT /v1/inline_ais`,
 * when a flow, an activeflow or outgoing calls are saved with inline settings), in one
 * transaction: an action's AI is created (`POST /v1.0/ais`'s defaults) or replaced by
 * `PUT /v1.0/ais`'s rules (an `engine_key` left out keeps the stored key, `""` removes it; the
 * same for the fields PUT keeps), and the owner's AIs of other actions are deleted. The
 * settings are checked by `POST /v1.0/ais`'s schema and rules; any refusal stores nothing and is
 * one 400 naming every refused action. No `ai_*` events: an inline AI is part of its flow.
 */
export async function syncInlineAis(context: DomainContext, request: InlineAiSync): Promise<InlineAiSyncResult> {
  const customerId = request.customer_id.toLowerCase();
  const ownerId = request.owner_id.toLowerCase();
  const problems: InlineAiProblem[] = [];
  const items: { actionId: string; fields: AiFields }[] = [];
  for (const item of request.ais) {
    const parsed = inlineAiFieldsSchema.safeParse(item.settings);
    if (parsed.success) items.push({ actionId: item.action_id.toLowerCase(), fields: { name: '', detail: '', ...parsed.data } });
    else problems.push({ action_id: item.action_id, message: toAppError(parsed.error).message });
  }
  if (problems.length > 0) throw refused(problems);

  const result = await context.db.transaction().execute(async (trx) => {
    await lockInlineOwner(trx, customerId, ownerId);
    const saved: InlineAiSyncResult['result'] = [];
    for (const { actionId, fields } of items) {
      try {
        const current = await findInlineAiForUpdate(trx, customerId, ownerId, actionId);
        const row = current
          ? await replaceAi(trx, customerId, current.id, await replacedAiRowFields(context, trx, customerId, current, fields))
          : await insertNew(trx, actionId, fields);
        saved.push({ action_id: actionId, ai: toAi(row!) });
      } catch (error) {
        const message = storeProblem(error);
        if (message === undefined) throw error;
        problems.push({ action_id: actionId, message });
      }
    }
    if (problems.length > 0) throw refused(problems);
    await deleteInlineAisExcept(trx, customerId, ownerId, items.map((item) => item.actionId));
    return saved;
  });
  return { result };

  async function insertNew(trx: Parameters<typeof insertAi>[0], actionId: string, fields: AiFields) {
    const id = newId();
    return insertAi(trx, id, customerId, await newAiRowFields(context, trx, customerId, id, fields), { type: request.owner_type, id: ownerId, actionId });
  }
}

/**
 * flow-manager's `POST /v1/inline_ais/release`: the named customer's inline AIs of an ended
 * activeflow or of outgoing calls that all ended are marked, and each is deleted at once when no
 * session runs it; a session still running it deletes it when it ends (`aicall-service.ts`).
 * Ids of a flow's inline AIs, of named AIs, of another customer's or of deleted ones are
 * skipped. Repeating a release changes nothing.
 */
export async function releaseInlineAis(context: DomainContext, request: z.output<typeof inlineAiReleaseSchema>): Promise<{ released: number; deleted: number }> {
  const customerId = request.customer_id.toLowerCase();
  const ids = [...new Set(request.ai_ids.map((id) => id.toLowerCase()))];
  const released = await context.db.transaction().execute((trx) => markInlineOwnersEnded(trx, customerId, ids));
  let deleted = 0;
  // One transaction per AI: its row lock is held only while its own sessions are checked.
  for (const id of released) {
    if (await context.db.transaction().execute((trx) => deleteReleasedInlineAi(trx, id))) deleted += 1;
  }
  if (released.length > 0) context.logger.info({ customerId, released: released.length, deleted }, 'inline AIs released by their ended owner');
  return { released: released.length, deleted };
}
