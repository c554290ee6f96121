import { externalMediaCreateSchema, externalMediaStreamSchema, keySecurity, routeResponses } from '@avp/shared';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { uuidParamsSchema as params } from '../http/route-schemas.ts';
import type { ExternalMediaStreams } from './external-media-streams.ts';

const security = keySecurity;
const tags = ['calls'];

/** The base URL a client reached this API at (for a `dial_in` stream's URL). */
export function publicBaseOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * `/v1.0/calls/{id}/external-media`: a live call's audio to and from a third-party engine's
 * WebSocket (Twilio Media Streams or Asterisk chan_websocket format). One stream per call at a
 * time; GET and DELETE act on the call's latest stream.
 */
export function externalMediaRoutes(streams: ExternalMediaStreams, customerOf: (request: FastifyRequest) => string): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/calls/:id/external-media', {
      schema: {
        tags,
        summary: 'Stream a call to an engine',
        description:
          'Connects the live call\'s audio to a third-party engine over WebSocket, both ways. `format`: `twilio` (Twilio Media Streams JSON, u-law 8 kHz) or `asterisk` (Asterisk chan_websocket: binary slin16 and its text commands). `direction: "dial_out"` (default) connects to `url` (ws:// or wss://; internal addresses are refused like webhook URLs) and answers once the audio flows (`status: "streaming"`, or `failed` with `end_reason`); `dial_in` answers at once with `url`, a WebSocket URL with a one-time token that the engine connects to within 60 s. 409 while the call has a stream or once it ended.',
        security,
        params,
        body: externalMediaCreateSchema,
        response: routeResponses(externalMediaStreamSchema),
      },
      handler: async (request) => {
        const started = await streams.start(customerOf(request), request.params.id, request.body, { activeflowId: null, publicBase: publicBaseOf(request) });
        return started.stream;
      },
    });
    api.get('/v1.0/calls/:id/external-media', {
      schema: { tags, summary: "Get a call's external media stream", description: 'The call\'s latest stream, with its byte and duration counters (404 when it never had one).', security, params, response: routeResponses(externalMediaStreamSchema) },
      handler: async (request) => streams.get(customerOf(request), request.params.id),
    });
    api.delete('/v1.0/calls/:id/external-media', {
      schema: {
        tags,
        summary: "Stop a call's external media stream",
        description: 'Sends `stop` (twilio format), closes the engine\'s socket and takes the call\'s audio back; a flow waiting in `external_media_start` goes on. A stream that ended is answered as it is.',
        security,
        params,
        response: routeResponses(externalMediaStreamSchema),
      },
      handler: async (request) => streams.stop(customerOf(request), request.params.id),
    });
  };
}
