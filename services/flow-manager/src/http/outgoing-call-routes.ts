import { keySecurity, routeResponses } from '@avp/shared';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { checkPlayActions } from '../domain/calls/media-url-guard.ts';
import type { DomainContext } from '../domain/context.ts';
import { checkActionReferences } from '../domain/flows/action-references.ts';
import { checkedActions, getFlow } from '../domain/flows/flow-service.ts';
import { newInlineAiOwner, saveInlineAis } from '../domain/flows/inline-ais.ts';
import { outgoingCallCreateSchema, outgoingCallsSchema } from './route-schemas.ts';

/**
 * `POST /v1.0/calls`: places outgoing calls. The flow (or the inline actions, checked as a
 * flow's are) is checked before anything is dialled; `customerOf` answers the customer of an
 * authenticated request.
 */
export function outgoingCallRoutes(context: DomainContext, callEvents: CallEvents, customerOf: (request: FastifyRequest) => string): FastifyPluginAsyncZod {
  return async (api) => {
    api.post('/v1.0/calls', {
      schema: {
        tags: ['calls'],
        summary: 'Make outgoing calls',
        description:
          'Calls each destination (one call each, status `dialing` -> `ringing` -> `progressing` once answered -> `hangup`). An answered call runs the flow (`flow_id`, a flow of yours) or the `actions` in an activeflow of its own (reference type `call`) with `variables` and `voipbin.call.*`; a call not answered within `timeout` seconds ends `noanswer`, a busy one `busy`, one that cannot be placed `failed`, and no flow runs for them. Answers the calls as created.',
        security: keySecurity,
        body: outgoingCallCreateSchema,
        response: routeResponses(outgoingCallsSchema),
      },
      handler: async (request) => {
        const customerId = customerOf(request);
        const body = request.body;
        let actions: ReturnType<typeof checkedActions> = [];
        if (body.flow_id) {
          await getFlow(context, customerId, body.flow_id);
        } else {
          actions = checkedActions(body.actions ?? []);
          await checkPlayActions(context.outbound, actions);
          await checkActionReferences(context, customerId, actions);
          // Inline AI settings: one hidden AI per action for all the calls of this request (503 when ai-manager cannot take them: nothing is dialled).
          actions = await saveInlineAis(context, customerId, newInlineAiOwner('calls'), actions);
        }
        const calls = await callEvents.outgoing.create(customerId, {
          source: body.source,
          destinations: body.destinations,
          flowId: body.flow_id ?? null,
          actions,
          timeout: body.timeout,
          variables: body.variables,
        });
        return { calls };
      },
    });
  };
}
