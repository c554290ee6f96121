import { transcribeCreateSchema, transcribeSchema, transcriptSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import type { TranscribeService } from '../transcribes/transcribe-service.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['transcribes'];

/** `/v1.0/transcribes` and `/v1.0/transcripts`: live transcriptions of the caller's calls. */
export function transcribeRoutes(transcribes: TranscribeService): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/transcribes', {
      schema: {
        tags,
        summary: 'Transcribe a live call or a recording',
        description:
          'Starts transcribing a live call of yours (reference_type `call`) or a recording of yours that has ended (`recording`): `in` hears the caller, `out` what the caller hears (an AI session, a person it was connected to, prompts), `both` each on its own. A call\'s transcription runs beside an AI session on the call without disturbing it and ends when stopped, deleted or when the call hangs up; a recording\'s ends once the whole file was heard (faster than real time). Each utterance becomes a transcript (`transcript_created`, with its offset from the start); the end is `transcribe_done`. Speech-to-text seconds are billed. 404 for a call or recording that is not yours, 409 for an ended call or a recording still being made, 402 below the minimum balance; a recogniser that cannot start is a 5xx and nothing runs.',
        security: keySecurity,
        body: transcribeCreateSchema,
        response: responses(transcribeSchema),
      },
      handler: async (request) => transcribes.create(callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/transcribes', {
      schema: { tags, summary: 'List transcriptions', security: keySecurity, querystring: pageQuerySchema, response: responses(listResponseSchema(transcribeSchema)) },
      handler: async (request) => transcribes.list(callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/transcribes/:id', {
      schema: { tags, summary: 'Get a transcription', security: keySecurity, params: idParamsSchema, response: responses(transcribeSchema) },
      handler: async (request) => transcribes.get(callerOf(request).customerId, parseId(request.params.id)),
    });
    api.post('/v1.0/transcribes/:id/stop', {
      schema: { tags, summary: 'Stop a transcription', security: keySecurity, params: idParamsSchema, response: responses(transcribeSchema) },
      handler: async (request) => transcribes.finish(callerOf(request).customerId, parseId(request.params.id)),
    });
    api.delete('/v1.0/transcribes/:id', {
      schema: { tags, summary: 'Delete a transcription (it stops first)', security: keySecurity, params: idParamsSchema, response: responses(transcribeSchema) },
      handler: async (request) => transcribes.remove(callerOf(request).customerId, parseId(request.params.id)),
    });
    api.get('/v1.0/transcripts', {
      schema: {
        tags,
        summary: "List a transcription's transcripts, newest first",
        security: keySecurity,
        querystring: pageQuerySchema.extend({ transcribe_id: z.uuid() }),
        response: responses(listResponseSchema(transcriptSchema)),
      },
      handler: async (request) => transcribes.transcripts(callerOf(request).customerId, request.query.transcribe_id.toLowerCase(), request.query),
    });
  };
}
