import { aisummarySchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { getAisummary, listAisummaryPage, removeAisummary } from '../domain/aisummaries/aisummary-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['aisummaries'];

/** `/v1.0/aisummaries`: the caller's summaries (generation comes with a later issue). */
export function aisummaryRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.get('/v1.0/aisummaries', {
      schema: { tags, summary: 'List summaries', security: keySecurity, querystring: pageQuerySchema, response: responses(listResponseSchema(aisummarySchema)) },
      handler: async (request) => listAisummaryPage(domain, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/aisummaries/:id', {
      schema: { tags, summary: 'Get a summary', security: keySecurity, params: idParamsSchema, response: responses(aisummarySchema) },
      handler: async (request) => getAisummary(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.delete('/v1.0/aisummaries/:id', {
      schema: { tags, summary: 'Delete a summary', security: keySecurity, params: idParamsSchema, response: responses(aisummarySchema) },
      handler: async (request) => removeAisummary(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
  };
}
