import { appError, idParamsSchema } from '@avp/shared';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { findChannelForWebhook } from '../conversations/channel-repository.ts';
import { openChannelSecret } from '../conversations/channel-service.ts';
import type { ConversationService } from '../conversations/conversation-service.ts';
import { parseLineWebhook, parseTwilioMessage } from '../conversations/inbound-parsers.ts';
import { publicRequestUrl } from '../conversations/public-url.ts';
import { verifyLineSignature, verifyTwilioSignature } from '../conversations/webhook-signatures.ts';
import type { DomainContext } from '../domain/context.ts';
import { notFound } from '../domain/not-found.ts';
import { parseId } from '../http/ids.ts';

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * `POST /v1.0/conversation_channels/{id}/webhook`: where the vendor delivers inbound messages.
 * No access key: the vendor's signature over the body authenticates it, so the body is kept
 * raw (a content-type parser of this scope only) and checked before it is parsed. Nothing is
 * stored for a bad signature (401); a bad body under a good one is a 400.
 */
export function conversationWebhookRoutes(domain: DomainContext, conversations: ConversationService, publicUrl: string | undefined): FastifyPluginAsyncZod {
  return async (api) => {
    api.removeAllContentTypeParsers();
    api.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
    api.post('/v1.0/conversation_channels/:id/webhook', {
      schema: {
        tags: ['conversation_channels'],
        summary: "A channel's inbound webhook (for the vendor)",
        description:
          'sms: Twilio\'s form-encoded incoming message (From, To, Body, MessageSid), signed with X-Twilio-Signature (the auth token); answers 200 text/xml <Response/>. line: LINE\'s JSON {destination, events[]}, signed with x-line-signature (the channel secret); text message events are taken, others ignored. No access key. 401 INVALID_SIGNATURE for a missing or bad signature; a message id seen before is accepted and ignored.',
        params: idParamsSchema,
      },
      handler: async (request, reply) => {
        const channel = await findChannelForWebhook(domain.db, parseId(request.params.id));
        if (!channel) throw notFound('conversation channel');
        const raw = typeof request.body === 'string' ? request.body : '';
        if (channel.type === 'sms') {
          const params = Object.fromEntries(new URLSearchParams(raw));
          const authToken = openChannelSecret(domain, channel, 'auth_token');
          if (!authToken || !verifyTwilioSignature(authToken, header(request.headers['x-twilio-signature']), publicRequestUrl(request, publicUrl), params)) {
            throw appError('INVALID_SIGNATURE', 'X-Twilio-Signature is missing or does not match (check the auth token and PUBLIC_URL).');
          }
          await conversations.receive(channel, [parseTwilioMessage(params)]);
          return reply.code(200).type('text/xml').send('<?xml version="1.0" encoding="UTF-8"?><Response/>');
        }
        const channelSecret = openChannelSecret(domain, channel, 'channel_secret');
        if (!channelSecret || !verifyLineSignature(channelSecret, header(request.headers['x-line-signature']), raw)) {
          throw appError('INVALID_SIGNATURE', 'x-line-signature is missing or does not match the channel secret.');
        }
        const content = parseLineWebhook(raw);
        if (content.ignored.length > 0) request.log.debug({ channelId: channel.id, ignored: content.ignored }, 'LINE events ignored (not text messages)');
        await conversations.receive(channel, content.texts);
        return reply.code(200).send({});
      },
    });
  };
}
