import { aiFieldsSchema, aiSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { createAi, getNamedAi, listAiPage, removeAi, updateAi } from '../domain/ais/ai-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['ais'];

/** `/v1.0/ais`: the caller's AI configurations. */
export function aiRoutes(domain: DomainContext): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/ais', {
      schema: { tags, summary: 'Create an AI', security: keySecurity, body: aiFieldsSchema, response: responses(aiSchema) },
      handler: async (request) => createAi(domain, callerOf(request).customerId, request.body),
    });
    api.get('/v1.0/ais', {
      schema: { tags, summary: 'List AIs', security: keySecurity, querystring: pageQuerySchema, response: responses(listResponseSchema(aiSchema)) },
      handler: async (request) => listAiPage(domain, callerOf(request).customerId, request.query),
    });
    api.get('/v1.0/ais/:id', {
      schema: { tags, summary: 'Get an AI', security: keySecurity, params: idParamsSchema, response: responses(aiSchema) },
      handler: async (request) => getNamedAi(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.put('/v1.0/ais/:id', {
      schema: {
        tags,
        summary: 'Replace an AI',
        description:
          'Replaces every field. engine_key, vad_config, smart_turn_enabled, turn_config, media_transport, knowledgebase_ids, the fallback_* fields, no_input_timeout and no_input_max keep their stored values when left out; engine_key "" removes the key.',
        security: keySecurity,
        params: idParamsSchema,
        body: aiFieldsSchema,
        response: responses(aiSchema),
      },
      handler: async (request) => updateAi(domain, callerOf(request).customerId, parseId(request.params.id), request.body),
    });
    api.delete('/v1.0/ais/:id', {
      schema: { tags, summary: 'Delete an AI', security: keySecurity, params: idParamsSchema, response: responses(aiSchema) },
      handler: async (request) => removeAi(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
  };
}
