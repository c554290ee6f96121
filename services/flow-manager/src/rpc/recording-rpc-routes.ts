import { recordingDirections, rpcCustomer, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import { maxAudioWindowMs, type Recordings } from '../domain/recordings/recordings.ts';
import { id } from './path-id.ts';

const audioQuerySchema = z.object({
  /** `in`: what the caller said (the WAV's left channel); `out`: what it heard (right). */
  direction: z.enum(recordingDirections),
  offset_ms: z.coerce.number().int().min(0).default(0),
  length_ms: z.coerce.number().int().min(1).max(maxAudioWindowMs).default(maxAudioWindowMs),
});

/**
 * Recordings on the bus, for the services that read them (transcribing a recording): the
 * record, and one side's audio as 16-bit little-endian mono PCM in windows of at most 60 s.
 * Each names the customer (`?customer_id=`); another customer's recording is a 404 like a
 * missing one, and one still being recorded is a 409.
 */
export function addRecordingRoutes(router: RpcRouter, recordings: Recordings): void {
  router.add('GET', '/v1/recordings/:id', async (request) => {
    const { customerId } = rpcCustomer(request);
    return recordings.get(customerId, id(request.params.id));
  });
  router.add('GET', '/v1/recordings/:id/audio', async (request) => {
    const { customerId } = rpcCustomer(request);
    const recordingId = id(request.params.id);
    // Another customer's recording is a 404 whatever the query says.
    await recordings.get(customerId, recordingId);
    const query = audioQuerySchema.parse(Object.fromEntries(request.query));
    return recordings.audio(customerId, recordingId, { direction: query.direction, offsetMs: query.offset_ms, lengthMs: query.length_ms });
  });
}
