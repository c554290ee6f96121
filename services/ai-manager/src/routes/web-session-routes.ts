import { aicallSchema, appError } from '@avp/shared';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getNamedAi } from '../domain/ais/ai-service.ts';
import type { DomainContext } from '../domain/context.ts';
import { callerOf } from '../http/caller.ts';
import type { WebSessions } from '../sessions/web-sessions.ts';
import { keySecurity, responses } from './route-schemas.ts';

const tags = ['web sessions'];

const webSessionCreateSchema = z.strictObject({
  /** The AI that answers (one of yours). */
  ai_id: z.uuid(),
});

const webSessionTicketSchema = z.object({
  aicall: aicallSchema,
  token: z.string().meta({ description: 'One-time media token, good for one connection until expires_at.' }),
  media_url: z.string().meta({ description: 'Path of the media WebSocket, token included: ws(s)://<this host><media_url>.' }),
  expires_at: z.string(),
});

const mediaParamsSchema = z.object({ id: z.string() });
const mediaQuerySchema = z.object({ token: z.string().optional() });

/** `POST /v1.0/web_sessions`: keyed (registered in the key-checked scope). */
export function webSessionRoutes(domain: DomainContext, webSessions: WebSessions): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/web_sessions', {
      schema: {
        tags,
        summary: 'Start a web session (talk to an AI from a browser)',
        description:
          'Creates an AIcall with reference_type `web_session` for one of your AIs and answers a one-time media token. Connect a WebSocket to media_url within expires_at (60 s): binary messages are the microphone as 16 kHz mono 16-bit little-endian PCM (20 ms frames); the AI speaks back in the same format; text messages from the platform are JSON: {"type":"started"} once the AI listens, {"type":"clear"} to stop playing at once (the user talked over the AI), {"type":"ended","reason"}. The session runs the voice pipeline of a phone call (VAD, end of turn, barge-in, tools, billing); closing the socket ends it. A session not connected in time is terminated. 404 for an AI that is not yours, 402 below the minimum balance.',
        security: keySecurity,
        body: webSessionCreateSchema,
        response: responses(webSessionTicketSchema),
      },
      handler: async (request) => {
        const customerId = callerOf(request).customerId;
        await getNamedAi(domain, customerId, request.body.ai_id);
        return webSessions.create(customerId, request.body.ai_id);
      },
    });
  };
}

/**
 * The media sockets, outside the key check: the browser's (`/media`, authenticated by its
 * one-time token, bound to the AIcall and its customer) and the pipeline's (`/pipeline_media`,
 * by the token this instance gave that pipeline). A bad, used or expired token is a 401 before
 * the upgrade.
 */
export function webSessionMediaRoutes(webSessions: WebSessions): FastifyPluginAsyncZod {
  return async (api) => {
    api.get(
      '/v1.0/web_sessions/:id/media',
      {
        websocket: true,
        // Hidden like /console: a WebSocket with a token of its own, described under POST /v1.0/web_sessions.
        schema: { hide: true, params: mediaParamsSchema, querystring: mediaQuerySchema },
        preValidation: async (request: FastifyRequest) => {
          const { id } = request.params as { id: string };
          const { token } = request.query as { token?: string };
          const claimed = token ? webSessions.claim(id, token) : undefined;
          if (!claimed) throw appError('INVALID_CREDENTIALS', 'The web session token is not valid (unknown, used or expired).');
          (request as FastifyRequest & { webSessionCustomerId?: string }).webSessionCustomerId = claimed.customerId;
        },
      },
      (socket, request) => {
        const { id } = request.params as { id: string };
        const customerId = (request as FastifyRequest & { webSessionCustomerId?: string }).webSessionCustomerId;
        if (!customerId) {
          socket.close(1008, 'not authenticated');
          return;
        }
        webSessions.attachBrowser(socket, id.toLowerCase(), customerId, localWebSocketBase(request));
      },
    );
    api.get(
      '/v1.0/web_sessions/:id/pipeline_media',
      {
        websocket: true,
        schema: { hide: true, params: mediaParamsSchema, querystring: mediaQuerySchema },
      },
      (socket, request) => {
        const { id } = request.params as { id: string };
        const { token } = request.query as { token?: string };
        if (!token || !webSessions.attachPipeline(socket, id, token)) socket.close(1008, 'not authenticated');
      },
    );
  };
}

/** `ws://<address>:<port>` of the server socket the request arrived on. */
export function localWebSocketBase(request: FastifyRequest): string {
  const socket = request.raw.socket;
  let address = socket.localAddress ?? '127.0.0.1';
  if (address.startsWith('::ffff:')) address = address.slice('::ffff:'.length);
  if (address === '::' || address === '0.0.0.0') address = '127.0.0.1';
  const host = address.includes(':') ? `[${address}]` : address;
  return `ws://${host}:${socket.localPort ?? 80}`;
}
