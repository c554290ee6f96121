import { errorBodySchema, keySecurity, listQuerySchema, listResponseSchema, recordingCreateSchema, recordingSchema, routeResponses } from '@avp/shared';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Recordings } from '../domain/recordings/recordings.ts';
import { uuidParamsSchema as params } from './route-schemas.ts';

const security = keySecurity;
const tags = ['recordings'];

/**
 * `/v1.0/recordings`: recordings of the caller's live calls, each one stereo WAV (left: what the
 * caller said, right: what it heard). `customerOf` answers the customer of an authenticated request.
 */
export function recordingRoutes(recordings: Recordings, customerOf: (request: FastifyRequest) => string): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/recordings', {
      schema: {
        tags,
        summary: 'Record a call',
        description:
          'Starts recording a live call of yours (404 for a call that is not yours, 409 once it ended). Each side is recorded apart; the recording ends when stopped or when the call hangs up, and its file is then a stereo WAV: left what the caller said, right what it heard.',
        security,
        body: recordingCreateSchema,
        response: routeResponses(recordingSchema),
      },
      handler: async (request) => recordings.start(customerOf(request), request.body.reference_id.toLowerCase()),
    });
    api.get('/v1.0/recordings', {
      schema: { tags, summary: 'List recordings', security, querystring: listQuerySchema, response: routeResponses(listResponseSchema(recordingSchema)) },
      handler: async (request) => recordings.list(customerOf(request), request.query),
    });
    api.get('/v1.0/recordings/:id', {
      schema: { tags, summary: 'Get a recording', security, params, response: routeResponses(recordingSchema) },
      handler: async (request) => recordings.get(customerOf(request), request.params.id),
    });
    api.post('/v1.0/recordings/:id/stop', {
      schema: {
        tags,
        summary: 'Stop a recording',
        description: 'The recording turns `stopping` and then `ended` once its file is stored; one that ended already is answered as it is.',
        security,
        params,
        response: routeResponses(recordingSchema),
      },
      handler: async (request) => recordings.stop(customerOf(request), request.params.id),
    });
    api.delete('/v1.0/recordings/:id', {
      schema: { tags, summary: 'Delete a recording', description: 'Stops it if it still records, removes its file and answers it with tm_delete set.', security, params, response: routeResponses(recordingSchema) },
      handler: async (request) => recordings.delete(customerOf(request), request.params.id),
    });
    api.get('/v1.0/recordings/:id/file', {
      schema: {
        tags,
        summary: 'Download a recording',
        description: 'The recording as a stereo 16-bit WAV (`audio/wav`): left channel what the caller said, right channel what the caller heard. 409 while it is still recorded or when it failed.',
        security,
        params,
        response: { 200: z.any().meta({ description: 'audio/wav', type: 'string', format: 'binary' }), '4xx': errorBodySchema, '5xx': errorBodySchema },
      },
      handler: async (request, reply) => {
        const file = await recordings.file(customerOf(request), request.params.id);
        return reply.type('audio/wav').header('content-disposition', `attachment; filename="${request.params.id}.wav"`).send(file);
      },
    });
  };
}
