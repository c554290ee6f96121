import { aisummaryCreateSchema, aisummarySchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { getAisummary, listAisummaryPage, removeAisummary } from '../domain/aisummaries/aisummary-service.ts';
import { callerOf } from '../http/caller.ts';
import type { SummaryService } from '../summaries/summary-service.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['aisummaries'];

/** `/v1.0/aisummaries`: the caller's summaries of calls, transcriptions and recordings. */
export function aisummaryRoutes(domain: DomainContext, summaries?: SummaryService): FastifyPluginAsyncZod {
  return async (api) => {
    if (summaries) {
      api.post('/v1.0/aisummaries', {
        schema: {
          tags,
          summary: 'Summarise a call, a transcription or a recording',
          description:
            'Asks for a summary of a live call of yours (it is transcribed, both sides, reusing a running transcription of both sides, and summarised when it hangs up), of a transcription of yours (summarised when it is done, at once if it is) or of a recording of yours (transcribed from the file, then summarised). The answer is the summary in `progressing`; it becomes `done` with `content` (sections Call Type, Key Discussion Points, Decisions, Action Items, Additional Notes) or `failed` with `failure_reason` (`summary_updated`). `ai_id`: an AI of yours whose engine_model and engine_key write it instead of the platform\'s default engine; its LLM tokens are billed. `on_end_flow_id`: a flow of yours started when it is done, with the variables voipbin.ai_summary.id, .reference_type, .reference_id, .language and .content. A second request for the same reference and language answers the existing summary (delete it to ask again). `conference` is a 400: this platform has no conferences. 404 for a reference, flow or AI that is not yours; 409 for a call that has ended.',
          security: keySecurity,
          body: aisummaryCreateSchema,
          response: responses(aisummarySchema),
        },
        handler: async (request) => summaries.create(callerOf(request).customerId, request.body),
      });
    }
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
