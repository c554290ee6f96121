import { isAppError } from '@avp/shared';
import type { z } from 'zod';
import type { flowTranscribeSchema } from './transcribe-records.ts';
import type { TranscribeService } from './transcribe-service.ts';

/**
 * The `transcribe_start` flow action (`POST /v1/services/type/transcribe`): like the API on the
 * flow's own call, but the flow never fails for it: a transcription that cannot start is logged
 * and the answer names none (the flow goes on).
 */
export async function startTranscribeFromFlow(
  transcribes: TranscribeService,
  input: z.infer<typeof flowTranscribeSchema>,
): Promise<{ id: string; type: 'transcribe'; push_actions: [] }> {
  try {
    const transcribe = await transcribes.create(input.customer_id.toLowerCase(), {
      reference_type: 'call',
      reference_id: input.reference_id.toLowerCase(),
      language: input.language,
      direction: input.direction,
      phrases: input.phrases,
    });
    return { id: transcribe.id, type: 'transcribe', push_actions: [] };
  } catch (error) {
    // Another customer's call is refused like a missing one (a flow's own call never is).
    if (isAppError(error) && error.httpStatus === 404) throw error;
    transcribes.logger.warn({ err: error, callId: input.reference_id, activeflowId: input.activeflow_id }, 'transcribe_start: the transcription could not start; the flow goes on');
    return { id: '', type: 'transcribe', push_actions: [] };
  }
}

/** The `transcribe_stop` flow action: ends the transcriptions of the flow's call (the customer's only). */
export async function stopTranscribeFromFlow(
  transcribes: TranscribeService,
  input: { customer_id: string; reference_id: string },
): Promise<{ id: string; type: 'transcribe_stop'; push_actions: [] }> {
  const customerId = input.customer_id.toLowerCase();
  const callId = input.reference_id.toLowerCase();
  await transcribes.ownCall(customerId, callId);
  const last = await transcribes.finishAllOf(customerId, callId);
  return { id: last ?? '', type: 'transcribe_stop', push_actions: [] };
}
