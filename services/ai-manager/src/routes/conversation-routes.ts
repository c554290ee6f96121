import {
  conversationChannelFieldsSchema,
  conversationChannelSchema,
  conversationMessageCreateSchema,
  conversationMessageSchema,
  conversationSchema,
  conversationStatuses,
} from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createChannel, getChannel, listChannelPage, removeChannel, updateChannel } from '../conversations/channel-service.ts';
import type { ConversationService } from '../conversations/conversation-service.ts';
import { publicBase } from '../conversations/public-url.ts';
import type { DomainContext } from '../domain/context.ts';
import { callerOf } from '../http/caller.ts';
import { parseId } from '../http/ids.ts';
import { idParamsSchema, keySecurity, listResponseSchema, pageQuerySchema, responses } from './route-schemas.ts';

const channelDescription =
  'A channel is an SMS account of a Twilio-compatible API (type sms: account_sid, auth_token) or a LINE Messaging API channel (type line: channel_secret, channel_access_token; flow_id required). flow_id must be a flow of yours (404 otherwise). Secrets are write-only (shown as *_set). Give the vendor webhook_url. api_base_url must pass the outbound URL rule.';

/** `/v1.0/conversation_channels` and `/v1.0/conversations`: SMS and LINE channels, their conversations and messages. */
export function conversationRoutes(domain: DomainContext, conversations: ConversationService, publicUrl: string | undefined): FastifyPluginAsyncZod {
  return async (api) => {
    let tags = ['conversation_channels'];
    api.post('/v1.0/conversation_channels', {
      schema: { tags, summary: 'Create a conversation channel', description: channelDescription, security: keySecurity, body: conversationChannelFieldsSchema, response: responses(conversationChannelSchema) },
      handler: async (request) => {
        const { customerId } = callerOf(request);
        if (request.body.flow_id) await conversations.assertOwnFlow(customerId, request.body.flow_id);
        return createChannel(domain, customerId, request.body, publicBase(request, publicUrl));
      },
    });
    api.get('/v1.0/conversation_channels', {
      schema: { tags, summary: 'List conversation channels', security: keySecurity, querystring: pageQuerySchema, response: responses(listResponseSchema(conversationChannelSchema)) },
      handler: async (request) => listChannelPage(domain, callerOf(request).customerId, request.query, publicBase(request, publicUrl)),
    });
    api.get('/v1.0/conversation_channels/:id', {
      schema: { tags, summary: 'Get a conversation channel', security: keySecurity, params: idParamsSchema, response: responses(conversationChannelSchema) },
      handler: async (request) => getChannel(domain, callerOf(request).customerId, parseId(request.params.id), publicBase(request, publicUrl)),
    });
    api.put('/v1.0/conversation_channels/:id', {
      schema: {
        tags,
        summary: 'Replace a conversation channel',
        description: 'Replaces every field; type cannot change. Secrets, flow_id and api_base_url keep their stored values when left out; a secret "" removes it.',
        security: keySecurity,
        params: idParamsSchema,
        body: conversationChannelFieldsSchema,
        response: responses(conversationChannelSchema),
      },
      handler: async (request) => {
        const { customerId } = callerOf(request);
        if (request.body.flow_id) await conversations.assertOwnFlow(customerId, request.body.flow_id);
        return updateChannel(domain, customerId, parseId(request.params.id), request.body, publicBase(request, publicUrl));
      },
    });
    api.delete('/v1.0/conversation_channels/:id', {
      schema: { tags, summary: 'Delete a conversation channel', description: 'Its webhook stops taking messages; its conversations stay readable.', security: keySecurity, params: idParamsSchema, response: responses(conversationChannelSchema) },
      handler: async (request) => removeChannel(domain, callerOf(request).customerId, parseId(request.params.id), publicBase(request, publicUrl)),
    });

    tags = ['conversations'];
    api.get('/v1.0/conversations', {
      schema: {
        tags,
        summary: 'List conversations',
        security: keySecurity,
        querystring: pageQuerySchema.extend({ channel_id: z.uuid().optional(), status: z.enum(conversationStatuses).optional() }),
        response: responses(listResponseSchema(conversationSchema)),
      },
      handler: async (request) => {
        const { channel_id, status, ...page } = request.query;
        return conversations.listConversations(callerOf(request).customerId, { ...(channel_id ? { channel_id: channel_id.toLowerCase() } : {}), ...(status ? { status } : {}) }, page);
      },
    });
    api.get('/v1.0/conversations/:id', {
      schema: { tags, summary: 'Get a conversation', security: keySecurity, params: idParamsSchema, response: responses(conversationSchema) },
      handler: async (request) => conversations.getConversation(callerOf(request).customerId, parseId(request.params.id)),
    });
    api.get('/v1.0/conversations/:id/messages', {
      schema: {
        tags,
        summary: "List a conversation's messages",
        description: 'Inbound and outbound, newest first.',
        security: keySecurity,
        params: idParamsSchema,
        querystring: pageQuerySchema,
        response: responses(listResponseSchema(conversationMessageSchema)),
      },
      handler: async (request) => conversations.listMessages(callerOf(request).customerId, parseId(request.params.id), request.query),
    });
    api.post('/v1.0/conversations/:id/messages', {
      schema: {
        tags,
        summary: 'Send a message in a conversation',
        description:
          "Sends the text through the conversation's channel (as the AI's replies are sent). The answer is the stored message: delivery_status delivered, or failed with delivery_error when the vendor refused it or could not be reached (not sent again: its outcome may be unknown).",
        security: keySecurity,
        params: idParamsSchema,
        body: conversationMessageCreateSchema,
        response: responses(conversationMessageSchema),
      },
      handler: async (request) => conversations.deliver({ customerId: callerOf(request).customerId, conversationId: parseId(request.params.id), text: request.body.text }),
    });
  };
}
