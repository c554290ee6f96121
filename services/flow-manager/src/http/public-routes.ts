import {
  accessKeyOf,
  appError,
  flowFieldsSchema,
  isUuid,
  listQuerySchema,
  numberFieldsSchema,
} from '@avp/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ActiveflowRunner } from '../domain/activeflows/activeflow-runner.ts';
import { findCustomerActiveflow, listActiveflows, toActiveflow } from '../domain/activeflows/activeflow-store.ts';
import { findCustomerCall, listCalls, toCall } from '../domain/calls/call-store.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import type { DomainContext } from '../domain/context.ts';
import { checkedActions, createFlow, deleteFlow, getFlow, listFlows, updateFlow } from '../domain/flows/flow-service.ts';
import { receiveInboundMessage, inboundMessageSchema } from '../domain/messages/inbound-messages.ts';
import { notFound } from '../domain/not-found.ts';
import { createNumber, deleteNumber, getNumber, listNumbers, updateNumber } from '../domain/numbers/number-service.ts';
import type { Caller, KeyVerifier } from './key-verifier.ts';

export interface PublicRouteDependencies {
  context: DomainContext;
  runner: ActiveflowRunner;
  callEvents: CallEvents;
  verifier: KeyVerifier;
}

const callers = new WeakMap<FastifyRequest, Caller>();

function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw appError('MISSING_CREDENTIALS');
  return caller;
}

function pathId(request: FastifyRequest): string {
  const { id } = request.params as { id: string };
  if (!isUuid(id)) throw appError('INVALID_ID', 'The id in the path is not a valid UUID.');
  return id.toLowerCase();
}

const activeflowCreateSchema = z.strictObject({
  flow_id: z.uuid().optional(),
  actions: z.array(z.unknown()).optional(),
  variables: z.record(z.string(), z.string()).default({}),
});

/**
 * flow-manager's public API under /v1.0: flows, numbers, activeflows, calls and inbound text
 * messages. Every route needs an access key; another customer's resource is a 404.
 */
export async function registerPublicRoutes(app: FastifyInstance, dependencies: PublicRouteDependencies): Promise<void> {
  const { context, runner, callEvents, verifier } = dependencies;
  await app.register(async (api) => {
    api.addHook('onRequest', async (request) => {
      const key = accessKeyOf(request);
      if (!key) throw appError('MISSING_CREDENTIALS');
      callers.set(request, await verifier.verify(key));
    });

    // Flows.
    api.post('/v1.0/flows', async (request) => createFlow(context, callerOf(request).customerId, flowFieldsSchema.parse(request.body ?? {})));
    api.get('/v1.0/flows', async (request) => listFlows(context, callerOf(request).customerId, listQuerySchema.parse(request.query)));
    api.get('/v1.0/flows/:id', async (request) => getFlow(context, callerOf(request).customerId, pathId(request)));
    api.put('/v1.0/flows/:id', async (request) =>
      updateFlow(context, callerOf(request).customerId, pathId(request), flowFieldsSchema.parse(request.body ?? {})),
    );
    api.delete('/v1.0/flows/:id', async (request) => deleteFlow(context, callerOf(request).customerId, pathId(request)));

    // Numbers: which flow runs for calls and messages to a number.
    api.post('/v1.0/numbers', async (request) => createNumber(context, callerOf(request).customerId, numberFieldsSchema.parse(request.body ?? {})));
    api.get('/v1.0/numbers', async (request) => listNumbers(context, callerOf(request).customerId, listQuerySchema.parse(request.query)));
    api.get('/v1.0/numbers/:id', async (request) => getNumber(context, callerOf(request).customerId, pathId(request)));
    api.put('/v1.0/numbers/:id', async (request) =>
      updateNumber(context, callerOf(request).customerId, pathId(request), numberFieldsSchema.parse(request.body ?? {})),
    );
    api.delete('/v1.0/numbers/:id', async (request) => deleteNumber(context, callerOf(request).customerId, pathId(request)));

    // Activeflows.
    api.post('/v1.0/activeflows', async (request) => {
      const body = activeflowCreateSchema.parse(request.body ?? {});
      const customerId = callerOf(request).customerId;
      if (body.flow_id) {
        return runner.startFlow({ customerId, flowId: body.flow_id, referenceType: 'api', referenceId: null, variables: body.variables });
      }
      return runner.start({ customerId, flowId: null, actions: checkedActions(body.actions ?? []), referenceType: 'api', referenceId: null, variables: body.variables });
    });
    api.get('/v1.0/activeflows', async (request) => listActiveflows(context.db, callerOf(request).customerId, listQuerySchema.parse(request.query)));
    api.get('/v1.0/activeflows/:id', async (request) => {
      const row = await findCustomerActiveflow(context.db, callerOf(request).customerId, pathId(request));
      if (!row) throw notFound('Activeflow');
      return toActiveflow(row);
    });
    api.post('/v1.0/activeflows/:id/stop', async (request) => {
      const id = pathId(request);
      const row = await findCustomerActiveflow(context.db, callerOf(request).customerId, id);
      if (!row) throw notFound('Activeflow');
      return runner.stop(id, 'stopped through the API');
    });

    // Calls.
    api.get('/v1.0/calls', async (request) => listCalls(context.db, callerOf(request).customerId, listQuerySchema.parse(request.query)));
    api.get('/v1.0/calls/:id', async (request) => {
      const row = await findCustomerCall(context.db, callerOf(request).customerId, pathId(request));
      if (!row) throw notFound('Call');
      return toCall(row);
    });
    api.post('/v1.0/calls/:id/hangup', async (request) => {
      const row = await findCustomerCall(context.db, callerOf(request).customerId, pathId(request));
      if (!row) throw notFound('Call');
      return callEvents.hangupCall(row.id, 'normal');
    });

    // Inbound text messages (an SMS/LINE gateway posts here).
    api.post('/v1.0/conversation_messages', async (request, reply) => {
      const body = inboundMessageSchema.parse(request.body ?? {});
      const result = await receiveInboundMessage(context, runner, callerOf(request).customerId, body);
      return reply.code(202).send(result);
    });
  });
}
