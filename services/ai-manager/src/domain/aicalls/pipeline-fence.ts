import { appError } from '@avp/shared';
import { z } from 'zod';
import type { AiManagerDb } from '../../db/tables.ts';
import { pipelineEpochOf } from './aicall-repository.ts';

/** What a pipeline adds to its reports and tool calls: the epoch it was started with. */
export const pipelineEpochSchema = z.object({ pipeline_epoch: z.number().int().min(0).optional() });

/**
 * Whether a report from the pipeline of `reported` epoch comes from a pipeline that was
 * replaced (crash resumption raised the AIcall's epoch since). Reports without an epoch (an
 * older pipeline-manager) and AIcalls that do not exist are not judged here.
 */
export function isSupersededEpoch(current: number | undefined, reported: number | undefined): boolean {
  return reported !== undefined && current !== undefined && reported !== current;
}

/**
 * Refuses (409 INVALID_STATE) what a replaced pipeline sends: a pipeline-manager that was only
 * paused (SIGSTOP, a long stall) wakes up after another took its session over, and nothing it
 * reports, charges or asks a tool to do may count. The pipeline's outbox takes the 409 as a
 * refusal and does not retry it; its liveness check then stops it.
 */
export async function assertCurrentPipeline(db: AiManagerDb, aicallId: string, reported: number | undefined): Promise<void> {
  if (reported === undefined) return;
  const current = await pipelineEpochOf(db, aicallId.toLowerCase());
  if (isSupersededEpoch(current, reported)) {
    throw appError('INVALID_STATE', `The pipeline of epoch ${reported} was replaced by another (epoch ${current}); its report is not stored.`);
  }
}

/** What a text conversation's answer adds to its tool calls: the turn it answers. */
export const textTurnSchema = z.object({ text_turn_id: z.uuid().optional() });

/**
 * Refuses (409 INVALID_STATE) a tool call of a text answer that a newer message superseded: the
 * conversation moved on, and only the answer to the latest message may act (no second SMS, no
 * booking the customer already changed). pipeline-manager drops that answer on the 409.
 */
export async function assertCurrentTextTurn(db: AiManagerDb, aicallId: string, turnId: string | undefined): Promise<void> {
  if (turnId === undefined) return;
  const row = await db.selectFrom('aicalls').select('text_turn_id').where('id', '=', aicallId.toLowerCase()).executeTakeFirst();
  if (row && row.text_turn_id !== turnId.toLowerCase()) {
    throw appError('INVALID_STATE', 'A newer message superseded this answer; the tool call is not run.');
  }
}
