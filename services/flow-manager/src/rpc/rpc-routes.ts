import { actionOptionSchemas, activeflowReferenceTypes, appError, createRpcRouter, isUuid, rpcReply, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import type { ActiveflowRunner } from '../domain/activeflows/activeflow-runner.ts';
import { findActiveflow, toActiveflow } from '../domain/activeflows/activeflow-store.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { findCall, toCall } from '../domain/calls/call-store.ts';
import type { DomainContext } from '../domain/context.ts';
import { checkedActions } from '../domain/flows/flow-service.ts';
import { notFound } from '../domain/not-found.ts';
import { substitute } from '../domain/variables/variables.ts';

function id(value: string | undefined, name = 'id'): string {
  if (!value || !isUuid(value)) throw appError('INVALID_ID', `The ${name} is not a valid UUID.`);
  return value.toLowerCase();
}

const createSchema = z.strictObject({
  customer_id: z.uuid(),
  flow_id: z.uuid().optional(),
  actions: z.array(z.unknown()).optional(),
  reference_type: z.enum(activeflowReferenceTypes),
  reference_id: z.string().nullable().default(null),
  variables: z.record(z.string(), z.string()).default({}),
});

const externalMediaSchema = z
  .strictObject({
    transport: z.enum(['rtp', 'websocket']).default('rtp'),
    /** `host:port` where Asterisk sends RTP (rtp only). */
    external_host: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port').optional(),
    format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
  })
  .refine((body) => body.transport !== 'rtp' || body.external_host !== undefined, { message: 'external_host is required for rtp' });

/**
 * flow-manager's routes on the bus for the other services: activeflows created by others,
 * getting control back (`service_stop`, `continue`), hard stop, `add_actions`, variables,
 * and call hangup.
 */
export function createFlowManagerRpcRouter(
  context: DomainContext,
  runner: ActiveflowRunner,
  callEvents: CallEvents,
  identity: { serviceName: string; instanceId: string },
): RpcRouter {
  const router = createRpcRouter();
  router.add('GET', '/v1/ping', async () => ({
    service: identity.serviceName,
    instance_id: identity.instanceId,
    timestamp: new Date().toISOString(),
  }));

  router.add('POST', '/v1/activeflows', async ({ data }) => {
    const body = createSchema.parse(data);
    const common = { customerId: body.customer_id, referenceType: body.reference_type, referenceId: body.reference_id, variables: body.variables };
    if (body.flow_id) return runner.startFlow({ ...common, flowId: body.flow_id });
    return runner.start({ ...common, flowId: null, actions: checkedActions(body.actions ?? []) });
  });
  router.add('GET', '/v1/activeflows/:id', async ({ params }) => {
    const row = await findActiveflow(context.db, id(params.id));
    if (!row) throw notFound('Activeflow');
    return toActiveflow(row);
  });
  router.add('POST', '/v1/activeflows/:id/service_stop', async ({ params, data }) => {
    const body = z.object({ service_id: z.string().min(1), actions: z.array(z.unknown()).max(20).default([]) }).parse(data);
    return runner.serviceStop(id(params.id), body.service_id, body.actions);
  });
  router.add('POST', '/v1/activeflows/:id/continue', async ({ params, data }) => {
    const body = z.object({ current_action_id: z.uuid() }).parse(data);
    return runner.continueBlock(id(params.id), body.current_action_id);
  });
  router.add('POST', '/v1/activeflows/:id/stop', async ({ params, data }) => {
    const body = z.object({ reason: z.string().max(500).default('stopped by a service') }).parse(data ?? {});
    return runner.stop(id(params.id), body.reason);
  });
  router.add('POST', '/v1/activeflows/:id/add_actions', async ({ params, data }) => {
    const body = z.object({ actions: z.array(z.unknown()).min(1).max(100) }).parse(data);
    return runner.addActions(id(params.id), body.actions);
  });

  router.add('GET', '/v1/variables/:id', async ({ params }) => {
    const row = await findActiveflow(context.db, id(params.id));
    if (!row) throw notFound('Activeflow');
    return { variables: row.variables };
  });
  router.add('POST', '/v1/variables/:id/variables', async ({ params, data }) => {
    const body = z.object({ variables: z.record(z.string(), z.string()) }).parse(data);
    return { variables: await runner.setVariables(id(params.id), body.variables) };
  });
  router.add('POST', '/v1/variables/:id/substitute', async ({ params, data }) => {
    const body = z.object({ text: z.string().max(100_000) }).parse(data);
    const row = await findActiveflow(context.db, id(params.id));
    if (!row) throw notFound('Activeflow');
    return { text: substitute(body.text, row.variables) };
  });

  router.add('GET', '/v1/calls/:id', async ({ params }) => {
    const row = await findCall(context.db, id(params.id));
    if (!row) throw notFound('Call');
    return toCall(row);
  });
  router.add('POST', '/v1/calls/:id/answer', async ({ params }) => {
    await callEvents.answerCall(id(params.id));
    return { answered: true };
  });
  router.add('POST', '/v1/calls/:id/media_stop', async ({ params }) => {
    await callEvents.stopMedia(id(params.id));
    return { stopped: true };
  });
  router.add('POST', '/v1/calls/:id/external_media', async ({ params, data }) => {
    const body = externalMediaSchema.parse(data);
    const media = await callEvents.startExternalMedia(id(params.id), {
      transport: body.transport,
      externalHost: body.external_host,
      format: body.format,
    });
    return {
      channel_id: media.channelId,
      bridge_id: media.bridgeId,
      local_address: media.localAddress ?? null,
      local_port: media.localPort ?? null,
      websocket_url: media.websocketUrl ?? null,
    };
  });
  router.add('DELETE', '/v1/calls/:id/external_media', async ({ params }) => {
    await callEvents.stopExternalMedia(id(params.id));
    return { stopped: true };
  });
  router.add('POST', '/v1/calls/:id/play', async ({ params, data }) => {
    const body = actionOptionSchemas.play.parse(data);
    await callEvents.play(id(params.id), body.stream_urls);
    return rpcReply(202, {});
  });
  router.add('POST', '/v1/calls/:id/connect', async ({ params, data }) => {
    await callEvents.connect(id(params.id), actionOptionSchemas.connect.parse(data));
    return rpcReply(202, {});
  });
  router.add('POST', '/v1/bridges', async ({ data }) => {
    const body = z.object({ name: z.string().max(200).default('') }).parse(data ?? {});
    return rpcReply(201, { id: await callEvents.createBridge(body.name) });
  });
  router.add('POST', '/v1/bridges/:id/calls', async ({ params, data }) => {
    const body = z.object({ call_ids: z.array(z.uuid()).min(1).max(20) }).parse(data);
    await callEvents.addToBridge(params.id!, body.call_ids);
    return { added: body.call_ids };
  });
  router.add('DELETE', '/v1/bridges/:id/calls', async ({ params, data }) => {
    const body = z.object({ call_ids: z.array(z.uuid()).min(1).max(20) }).parse(data);
    await callEvents.removeFromBridge(params.id!, body.call_ids);
    return { removed: body.call_ids };
  });
  router.add('DELETE', '/v1/bridges/:id', async ({ params }) => {
    await callEvents.destroyBridge(params.id!);
    return { destroyed: true };
  });
  router.add('POST', '/v1/calls/:id/hangup', async ({ params, data }) => {
    const body = z.object({ reason: z.string().max(100).default('normal') }).parse(data ?? {});
    return callEvents.hangupCall(id(params.id), body.reason);
  });
  return router;
}
