import { aimessageCreateSchema, aimessageSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DomainContext } from '../domain/context.ts';
import type { SessionService } from '../sessions/session-service.ts';
import { getAimessage, listAimessagePage, sendUserMessage } from '../domain/aimessages/aimessage-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['aimessages'];

/** `/v1.0/aimessages`: the messages of the caller's AIcalls. */
export function aimessageRoutes(domain: DomainContext, sessions?: SessionService): FastifyPluginAsyncZod {
  return async (api) => {
    api.get('/v1.0/aimessages', {
      schema: {
        tags,
        summary: 'List the messages of an AIcall',
        security: keySecurity,
        querystring: pageQuerySchema.extend({ aicall_id: z.uuid() }),
        response: responses(listResponseSchema(aimessageSchema)),
      },
      handler: async (request) => {
        const { aicall_id, ...page } = request.query;
        return listAimessagePage(domain, callerOf(request).customerId, aicall_id.toLowerCase(), page);
      },
    });
    api.get('/v1.0/aimessages/:id', {
      schema: { tags, summary: 'Get a message', security: keySecurity, params: idParamsSchema, response: responses(aimessageSchema) },
      handler: async (request) => getAimessage(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.post('/v1.0/aimessages', {
      schema: {
        tags,
        summary: 'Send a user message into a session',
        description:
          'A live voice session answers it by voice at once (429 SEND_COOLDOWN within AICALL_SEND_COOLDOWN_SECONDS of the last change of the session; 503 when the voice pipeline does not take it, and then nothing is stored). Other sessions store it.',
        security: keySecurity,
        body: aimessageCreateSchema,
        response: responses(aimessageSchema),
      },
      handler: async (request) => {
        const fields = { ...request.body, aicall_id: request.body.aicall_id.toLowerCase() };
        const customerId = callerOf(request).customerId;
        return sessions ? sessions.sendMessage(customerId, fields) : sendUserMessage(domain, customerId, fields);
      },
    });
  };
}
