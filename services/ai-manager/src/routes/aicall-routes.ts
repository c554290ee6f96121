import { aicallCreateSchema, aicallFiltersSchema, aicallSchema, aicallWithCostSchema, appError } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DomainContext } from '../domain/context.ts';
import { getNamedAi } from '../domain/ais/ai-service.ts';
import type { SessionService } from '../sessions/session-service.ts';
import {
  createAicall,
  getAicall,
  listAicallPage,
  removeAicall,
  terminateAicall,
} from '../domain/aicalls/aicall-service.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const tags = ['aicalls'];

/** `/v1.0/aicalls`: AI sessions. */
export function aicallRoutes(domain: DomainContext, sessions?: SessionService): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/aicalls', {
      schema: {
        tags,
        summary: 'Start an AI session',
        description:
          'Creates the AIcall. With reference_type `call` and the id of a live call of yours (reference_id), the AI session starts on that call at once (a ringing call is answered): the AI greets the caller and the answer comes once the greeting is under way; activeflow_id, when given, must be the activeflow of that call. Without a call, activeflow_id must be an activeflow of yours. A billing account balance below the minimum is 402 INSUFFICIENT_BALANCE; a call, activeflow or AI that is not yours is 404; a call that has ended is 409; an LLM provider that refuses the engine key or is unavailable is 500 PROVIDER_ERROR (the AIcall is then terminated with the reason). With reference_type `""` (empty) it is a text AIcall, `progressing` at once: each message sent with POST /v1.0/aimessages is answered in the background (the answer arrives as `aimessage_created`; a message sent while the previous answer is being written supersedes it). reference_type `conversation` only creates the record: conversation AIcalls start from ai_talk in a message flow.',
        security: keySecurity,
        body: aicallCreateSchema,
        response: responses(aicallSchema),
      },
      handler: async (request) => {
        const customerId = callerOf(request).customerId;
        // A flow's inline AI is the flow's own: named here it is "not there", like in /v1.0/ais.
        if (request.body.assistance_type !== 'team') await getNamedAi(domain, customerId, request.body.assistance_id);
        // 402 INSUFFICIENT_BALANCE below the minimum balance, before anything is created.
        if (request.body.reference_type === 'call' && sessions) {
          return getAicall(domain, customerId, await sessions.startForCall(customerId, request.body));
        }
        // An AIcall bound to an activeflow works on that flow's variables: only the caller's own.
        if (request.body.activeflow_id) {
          if (!sessions) throw appError('SERVICE_UNAVAILABLE', 'Activeflows cannot be checked here.');
          await sessions.assertOwnActiveflow(customerId, request.body.activeflow_id);
        }
        await domain.billing?.assertCanStart(customerId);
        if (request.body.reference_type === '' && sessions) return sessions.text.createForApi(customerId, request.body);
        return createAicall(domain, customerId, request.body);
      },
    });
    api.get('/v1.0/aicalls', {
      schema: {
        tags,
        summary: 'List AIcalls',
        security: keySecurity,
        querystring: pageQuerySchema.extend(aicallFiltersSchema.shape),
        response: responses(listResponseSchema(aicallSchema)),
      },
      handler: async (request) => {
        const { page_size, page_token, ...filters } = request.query;
        return listAicallPage(domain, callerOf(request).customerId, filters, { page_size, page_token });
      },
    });
    api.get('/v1.0/aicalls/:id', {
      schema: {
        tags,
        summary: 'Get an AIcall',
        description: 'With `cost`: what the session has been charged so far, in micro-units (1 unit = 1,000,000).',
        security: keySecurity,
        params: idParamsSchema,
        response: responses(aicallWithCostSchema),
      },
      handler: async (request) => {
        const aicall = await getAicall(domain, callerOf(request).customerId, parseId(request.params.id));
        return { ...aicall, cost: (await domain.billing?.aicallCost(aicall.id)) ?? 0 };
      },
    });
    api.delete('/v1.0/aicalls/:id', {
      schema: {
        tags,
        summary: 'Delete an AIcall record',
        description: 'Soft delete; it does not end a running session.',
        security: keySecurity,
        params: idParamsSchema,
        response: responses(aicallSchema),
      },
      handler: async (request) => removeAicall(domain, callerOf(request).customerId, parseId(request.params.id)),
    });
    api.post('/v1.0/aicalls/:id/terminate', {
      schema: { tags, summary: 'End an AI session', security: keySecurity, params: idParamsSchema, response: responses(aicallSchema) },
      handler: async (request) => {
        const customerId = callerOf(request).customerId;
        const id = parseId(request.params.id);
        // The pipeline stops and the flow goes on after ai_talk; then the record ends.
        await sessions?.terminate(customerId, id);
        return terminateAicall(domain, customerId, id);
      },
    });
  };
}
