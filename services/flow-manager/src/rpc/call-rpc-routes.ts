import { actionOptionSchemas, rpcCustomer, rpcReply, type RpcRouter } from '@avp/shared';
import { z } from 'zod';
import type { ExternalMedia } from '../domain/calls/call-control.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { findCustomerCall, toCall } from '../domain/calls/call-store.ts';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { id } from './path-id.ts';

const externalMediaSchema = z
  .strictObject({
    transport: z.enum(['rtp', 'websocket']).default('rtp'),
    /** `host:port` where Asterisk sends RTP (rtp only). */
    external_host: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port').optional(),
    format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
  })
  .refine((body) => body.transport !== 'rtp' || body.external_host !== undefined, { message: 'external_host is required for rtp' })
  // Asterisk's UnicastRTP channel sends slin16 (payload type 118) but drops it when received
  // (a channel without SDP knows only the static payload types 0-34): the caller would hear
  // nothing. slin16 is for the WebSocket transport.
  .refine((body) => body.transport !== 'rtp' || body.format !== 'slin16', { message: 'format slin16 works over websocket only; use ulaw or alaw over rtp' });

/**
 * A per-direction media leg (for live transcription): a snoop on the caller, carried over RTP.
 * The leg only sends, so slin16 works here (Asterisk sends it as payload type 118; only slin16
 * it receives is dropped).
 */
const snoopMediaSchema = z.strictObject({
  /** `in`: the caller's own voice; `out`: what the caller hears. */
  direction: z.enum(['in', 'out']),
  external_host: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'host:port'),
  format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
});

function externalMediaReply(media: ExternalMedia) {
  return {
    channel_id: media.channelId,
    bridge_id: media.bridgeId,
    local_address: media.localAddress ?? null,
    local_port: media.localPort ?? null,
    websocket_url: media.websocketUrl ?? null,
    pending: media.pending,
  };
}

const callIdsSchema = z.object({ call_ids: z.array(z.uuid()).min(1).max(20) });

/**
 * Call control on the bus (calls and bridges). Each route names the customer it acts for
 * (`rpcCustomer`); CallEvents finds only that customer's calls and bridges, so another
 * customer's is a 404 exactly like a missing one.
 */
export function addCallRoutes(router: RpcRouter, context: DomainContext, callEvents: CallEvents): void {
  router.add('GET', '/v1/calls/:id', async (request) => {
    const { customerId } = rpcCustomer(request);
    const row = await findCustomerCall(context.db, customerId, id(request.params.id));
    if (!row) throw notFound('Call');
    return toCall(row);
  });
  router.add('POST', '/v1/calls/:id/answer', async (request) => {
    const { customerId } = rpcCustomer(request);
    await callEvents.answerCall(customerId, id(request.params.id));
    return { answered: true };
  });
  router.add('POST', '/v1/calls/:id/media_stop', async (request) => {
    const { customerId } = rpcCustomer(request);
    await callEvents.stopMedia(customerId, id(request.params.id));
    return { stopped: true };
  });
  router.add('POST', '/v1/calls/:id/external_media', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = externalMediaSchema.parse(data);
    const media = await callEvents.startExternalMedia(customerId, id(request.params.id), {
      transport: body.transport,
      externalHost: body.external_host,
      format: body.format,
    });
    return externalMediaReply(media);
  });
  // A WebSocket leg is bridged once its client (pipeline-manager) has connected.
  router.add('POST', '/v1/calls/:id/external_media/attach', async (request) => {
    const { customerId } = rpcCustomer(request);
    return externalMediaReply(await callEvents.attachExternalMedia(customerId, id(request.params.id)));
  });
  // With `channel_id`, only that leg: a replaced pipeline never removes its successor's.
  router.add('DELETE', '/v1/calls/:id/external_media', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = z.object({ channel_id: z.string().min(1).max(200).optional() }).parse(data ?? {});
    await callEvents.stopExternalMedia(customerId, id(request.params.id), body.channel_id);
    return { stopped: true };
  });
  // Per-direction legs (used by the coming live transcription); they leave the call's own bridge
  // and an AI session's leg alone.
  router.add('POST', '/v1/calls/:id/snoop_media', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = snoopMediaSchema.parse(data);
    const media = await callEvents.startSnoopMedia(customerId, id(request.params.id), {
      direction: body.direction,
      externalHost: body.external_host,
      format: body.format,
    });
    return {
      channel_id: media.channelId,
      snoop_channel_id: media.snoopChannelId,
      bridge_id: media.bridgeId,
      local_host: media.localAddress,
      local_port: media.localPort,
    };
  });
  router.add('DELETE', '/v1/calls/:id/snoop_media/:channelId', async (request) => {
    const { customerId } = rpcCustomer(request);
    await callEvents.stopSnoopMedia(customerId, id(request.params.id), request.params.channelId ?? '');
    return { stopped: true };
  });
  router.add('POST', '/v1/calls/:id/play', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = actionOptionSchemas.play.parse(data);
    await callEvents.play(customerId, id(request.params.id), body.stream_urls);
    return rpcReply(202, {});
  });
  router.add('POST', '/v1/calls/:id/connect', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    await callEvents.connect(customerId, id(request.params.id), actionOptionSchemas.connect.parse(data));
    return rpcReply(202, {});
  });
  router.add('POST', '/v1/calls/:id/hangup', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = z.object({ reason: z.string().max(100).default('normal') }).parse(data);
    return callEvents.hangupCall(customerId, id(request.params.id), body.reason);
  });

  // Bridges belong to the customer that made them; calls moved in or out must be theirs too.
  router.add('POST', '/v1/bridges', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = z.object({ name: z.string().max(200).default('') }).parse(data);
    return rpcReply(201, { id: await callEvents.createBridge(customerId, body.name) });
  });
  router.add('POST', '/v1/bridges/:id/calls', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = callIdsSchema.parse(data);
    await callEvents.addToBridge(customerId, id(request.params.id), body.call_ids);
    return { added: body.call_ids };
  });
  router.add('DELETE', '/v1/bridges/:id/calls', async (request) => {
    const { customerId, data } = rpcCustomer(request);
    const body = callIdsSchema.parse(data);
    await callEvents.removeFromBridge(customerId, id(request.params.id), body.call_ids);
    return { removed: body.call_ids };
  });
  router.add('DELETE', '/v1/bridges/:id', async (request) => {
    const { customerId } = rpcCustomer(request);
    await callEvents.destroyBridge(customerId, id(request.params.id));
    return { destroyed: true };
  });
}
