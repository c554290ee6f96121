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
