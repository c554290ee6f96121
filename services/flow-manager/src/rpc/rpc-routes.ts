import { activeflowReferenceTypes, createRpcRouter, rpcCustomer, type RpcRouteContext, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import type { ActiveflowRunner } from '../domain/activeflows/activeflow-runner.ts';
import { findCustomerActiveflow, toActiveflow, type ActiveflowRow } from '../domain/activeflows/activeflow-store.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import type { DomainContext } from '../domain/context.ts';
import { checkedActions, findFlow } from '../domain/flows/flow-service.ts';
import { inboundMessageSchema, receiveInboundMessage } from '../domain/messages/inbound-messages.ts';
import { notFound } from '../domain/not-found.ts';
import { substitute } from '../domain/variables/variables.ts';
import type { Recordings } from '../domain/recordings/recordings.ts';
import { addCallRoutes } from './call-rpc-routes.ts';
import { addRecordingRoutes } from './recording-rpc-routes.ts';
import { id } from './path-id.ts';

const createSchema = z.strictObject({
  customer_id: z.uuid(),
  flow_id: z.uuid().optional(),
  actions: z.array(z.unknown()).optional(),
  reference_type: z.enum(activeflowReferenceTypes),
  reference_id: z.string().nullable().default(null),
  variables: z.record(z.string(), z.string()).default({}),
});

/** `POST /v1/conversation_messages`: an inbound message ai-manager stored, with its id and the channel's flow. */
const conversationMessageSchema = inboundMessageSchema.extend({
  customer_id: z.uuid(),
  message_id: z.uuid(),
  flow_id: z.uuid().optional(),
});

/**
 * flow-manager's routes on the bus for the other services: activeflows created by others,
 * getting control back (`service_stop`, `continue`), hard stop, `add_actions`, variables,
 * call control (call-rpc-routes.ts) and recordings (recording-rpc-routes.ts). Every route on an existing resource names the
 * customer it acts for (`rpcCustomer`) and finds only that customer's resource: another
 * customer's activeflow or call is a 404 exactly like a missing one.
 */
export function createFlowManagerRpcRouter(
  context: DomainContext,
  runner: ActiveflowRunner,
  callEvents: CallEvents,
  recordings: Recordings,
  identity: { serviceName: string; instanceId: string },
): RpcRouter {
  const router = createRpcRouter();
  router.add('GET', '/v1/ping', async () => ({
    service: identity.serviceName,
    instance_id: identity.instanceId,
    timestamp: new Date().toISOString(),
  }));

  /** The request's customer, its data without the customer id, and that customer's activeflow of the path. */
  const activeflowOf = async (request: RpcRouteContext): Promise<{ row: ActiveflowRow; data: unknown }> => {
    const { customerId, data } = rpcCustomer(request);
    const row = await findCustomerActiveflow(context.db, customerId, id(request.params.id));
    if (!row) throw notFound('Activeflow');
    return { row, data };
  };

  // Creates an activeflow for the customer in the body; a flow_id must be that customer's flow.
  router.add('POST', '/v1/activeflows', async ({ data }) => {
    const body = createSchema.parse(data);
    const common = { customerId: body.customer_id, referenceType: body.reference_type, referenceId: body.reference_id, variables: body.variables };
    if (body.flow_id) return runner.startFlow({ ...common, flowId: body.flow_id });
    return runner.start({ ...common, flowId: null, actions: checkedActions(body.actions ?? []) });
  });
  // ai-manager's conversations: runs the channel's flow (the customer's, else 404) or the
  // destination number's message flow for a message it stored.
  router.add('POST', '/v1/conversation_messages', async ({ data }) => {
    const { customer_id, message_id, flow_id, ...message } = conversationMessageSchema.parse(data);
    return receiveInboundMessage(context, runner, customer_id, message, { messageId: message_id.toLowerCase(), ...(flow_id ? { flowId: flow_id.toLowerCase() } : {}) });
  });
  // Whether a flow is the customer's (ai-manager checks a conversation channel's flow_id
  // before storing it): its id, or a 404 exactly like a missing flow.
  router.add('GET', '/v1/flows/:id', async (request) => {
    const { customerId } = rpcCustomer(request);
    const row = await findFlow(context.db, customerId, id(request.params.id));
    if (!row) throw notFound('Flow');
    return { id: row.id };
  });
  router.add('GET', '/v1/activeflows/:id', async (request) => toActiveflow((await activeflowOf(request)).row));
  router.add('POST', '/v1/activeflows/:id/service_stop', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ service_id: z.string().min(1), actions: z.array(z.unknown()).max(20).default([]) }).parse(data);
    return runner.serviceStop(row.id, body.service_id, body.actions);
  });
  router.add('POST', '/v1/activeflows/:id/continue', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ current_action_id: z.uuid() }).parse(data);
    return runner.continueBlock(row.id, body.current_action_id);
  });
  router.add('POST', '/v1/activeflows/:id/stop', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ reason: z.string().max(500).default('stopped by a service') }).parse(data);
    return runner.stop(row.id, body.reason);
  });
  router.add('POST', '/v1/activeflows/:id/add_actions', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ actions: z.array(z.unknown()).min(1).max(100) }).parse(data);
    return runner.addActions(row.id, body.actions);
  });

  router.add('GET', '/v1/variables/:id', async (request) => ({ variables: (await activeflowOf(request)).row.variables }));
  router.add('POST', '/v1/variables/:id/variables', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ variables: z.record(z.string(), z.string()) }).parse(data);
    return { variables: await runner.setVariables(row.id, body.variables) };
  });
  router.add('POST', '/v1/variables/:id/substitute', async (request) => {
    const { row, data } = await activeflowOf(request);
    const body = z.object({ text: z.string().max(100_000) }).parse(data);
    return { text: substitute(body.text, row.variables) };
  });

  addCallRoutes(router, context, callEvents);
  addRecordingRoutes(router, recordings);
  return router;
}
