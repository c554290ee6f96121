import { z } from 'zod';

const timestamp = z.string().meta({ description: 'UTC timestamp, 2026-01-02T03:04:05.123456Z' });

/** The vendors a conversation channel talks through. */
export const conversationChannelTypes = ['sms', 'line'] as const;
export type ConversationChannelType = (typeof conversationChannelTypes)[number];

/** Each vendor's API when a channel names none. */
export const defaultChannelApiBaseUrls: Record<ConversationChannelType, string> = {
  sms: 'https://api.twilio.com',
  line: 'https://api.line.me',
};

/**
 * A conversation channel as the API shows it. Credentials are write-only: `auth_token`,
 * `channel_secret` and `channel_access_token` only show as `*_set` booleans (`account_sid`
 * is an account name, not a secret). `webhook_url` is the URL to give the vendor.
 */
export const conversationChannelSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  type: z.enum(conversationChannelTypes),
  name: z.string(),
  detail: z.string(),
  flow_id: z.uuid().nullable().meta({ description: 'The message flow run for each inbound message; null (sms only): the flow of the number the message was sent to.' }),
  api_base_url: z.string(),
  account_sid: z.string(),
  auth_token_set: z.boolean(),
  channel_secret_set: z.boolean(),
  channel_access_token_set: z.boolean(),
  webhook_url: z.string().meta({ description: 'Give this URL to the vendor (Twilio: "A message comes in"; LINE: the webhook URL).' }),
  tm_create: timestamp,
  tm_update: timestamp,
  tm_delete: timestamp.nullable(),
});
export type ConversationChannel = z.infer<typeof conversationChannelSchema>;

const secret = z.string().max(1000);

/**
 * `POST`/`PUT /v1.0/conversation_channels`. On `PUT` a secret left out keeps its stored value
 * (a client cannot send back what it never sees); `type` cannot change.
 */
export const conversationChannelFieldsSchema = z.strictObject({
  type: z.enum(conversationChannelTypes),
  name: z.string().max(255).default(''),
  detail: z.string().max(2000).default(''),
  flow_id: z.uuid().nullable().optional(),
  api_base_url: z.string().max(2000).optional().meta({ description: 'The vendor API (default https://api.twilio.com for sms, https://api.line.me for line); must pass the outbound URL rule.' }),
  account_sid: z.string().max(200).optional(),
  auth_token: secret.optional(),
  channel_secret: secret.optional(),
  channel_access_token: secret.optional(),
});
export type ConversationChannelFields = z.infer<typeof conversationChannelFieldsSchema>;

export const conversationStatuses = ['open'] as const;

/** One conversation: a channel, the customer's own address on it (`self`) and the contact (`peer`). */
export const conversationSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  channel_id: z.uuid(),
  type: z.enum(conversationChannelTypes),
  self: z.string().meta({ description: 'sms: the number messages were sent to; line: the bot user id (destination).' }),
  peer: z.string().meta({ description: 'sms: the sender number; line: the user, group or room id.' }),
  status: z.enum(conversationStatuses),
  tm_create: timestamp,
  tm_update: timestamp,
});
export type Conversation = z.infer<typeof conversationSchema>;

export const conversationMessageDirections = ['incoming', 'outgoing'] as const;
/** `received` for inbound; outbound go `pending` -> `delivered` | `failed`. */
export const conversationDeliveryStatuses = ['received', 'pending', 'delivered', 'failed'] as const;
export type ConversationDeliveryStatus = (typeof conversationDeliveryStatuses)[number];

export const conversationMessageSchema = z.object({
  id: z.uuid(),
  customer_id: z.uuid(),
  conversation_id: z.uuid(),
  direction: z.enum(conversationMessageDirections),
  text: z.string(),
  provider_message_id: z.string().nullable(),
  delivery_status: z.enum(conversationDeliveryStatuses),
  delivery_error: z.string(),
  aicall_id: z.uuid().nullable().meta({ description: 'The AIcall that wrote this reply, if any.' }),
  tm_create: timestamp,
  tm_update: timestamp,
});
export type ConversationMessage = z.infer<typeof conversationMessageSchema>;

/** `POST /v1.0/conversations/{id}/messages`: an operator's message, sent through the channel. */
export const conversationMessageCreateSchema = z.strictObject({
  text: z.string().trim().min(1).max(10_000),
});
