import { z } from 'zod';
import { aicallStatuses } from './aicall.ts';

/** flow-manager's events that reach customers (through ai-manager's outbox, in order per customer). */
export const customerFlowEventTypes = [
  'call_created',
  'call_ringing',
  'call_progressing',
  'call_hangup',
  'call_dtmf_received',
  'activeflow_created',
  'activeflow_updated',
  'activeflow_ended',
  'recording_started',
  'recording_finished',
  'external_media_started',
  'external_media_stopped',
] as const;

/**
 * Events ai-manager publishes on `ai-manager.event` (data = the public resource) and
 * delivers to WebSocket subscribers and webhooks as `{id, seq, type, data}`.
 */
export const aiManagerEventTypes = [
  'ai_created',
  'ai_updated',
  'ai_deleted',
  'team_created',
  'team_updated',
  'team_deleted',
  ...aicallStatuses.map((status) => `aicall_status_${status}` as const),
  'aicall_deleted',
  /** A session's pipeline was lost and another pipeline-manager took it over (data: the AIcall and `reason`). */
  'aicall_resumed',
  'aimessage_created',
  'aimessage_intermediate',
  'summary_created',
  'summary_updated',
  'summary_deleted',
  'knowledgebase_created',
  'knowledgebase_updated',
  'knowledgebase_deleted',
  'conversation_channel_created',
  'conversation_channel_updated',
  'conversation_channel_deleted',
  'conversation_created',
  /** A new message arrived in an existing conversation (`tm_update` moved). */
  'conversation_updated',
  /** A conversation message, inbound or outbound (data: the message). */
  'message_created',
  /** An outbound message's delivery status changed. */
  'message_updated',
  'transcribe_created',
  /** The transcription stopped (asked to, or the call ended). */
  'transcribe_done',
  'transcribe_deleted',
  /** One utterance heard on one side of a transcribed call. */
  'transcript_created',
  // flow-manager's events about a customer's calls, activeflows and recordings, relayed by
  // ai-manager to WebSocket subscribers and webhooks (data: the resource as the API shows it).
  ...customerFlowEventTypes,
] as const;
export type AiManagerEventType = (typeof aiManagerEventTypes)[number];

/**
 * A WebSocket topic: `customer_id:<customer id>:<resource>[:<resource id>]`, where the
 * resource is the event type up to its first `_` (`ai`, `aicall`, `aimessage`, `summary`,
 * `knowledgebase`).
 */
export const websocketTopicSchema = z
  .string()
  .max(200)
  .regex(/^customer_id:[0-9a-fA-F-]{36}(:[a-z]+(:[0-9a-fA-F-]{36})?)?$/, 'must look like customer_id:<id>:<resource>[:<resource id>]');

/**
 * What a WebSocket client sends: subscribe/unsubscribe, or `ping` (answered with `pong`) for
 * clients such as browsers that cannot see protocol-level pings.
 */
export const websocketClientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('subscribe'),
    topics: z.array(websocketTopicSchema).min(1).max(100),
    /** Resume: first replay the kept events of these topics whose `seq` is greater than this. */
    since: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal('unsubscribe'), topics: z.array(websocketTopicSchema).min(1).max(100) }),
  z.strictObject({ type: z.literal('ping') }),
]);
export type WebsocketClientMessage = z.infer<typeof websocketClientMessageSchema>;

/**
 * The body of a webhook delivery and of a WebSocket push: the event's stable `id` (the same on
 * every retry and replay: drop duplicates by it), the customer's sequence number `seq`
 * (increasing in commit order; absent on streamed text, which is never stored), `type`, `data`.
 */
export const eventMessageSchema = z.object({ id: z.string().optional(), seq: z.number().int().positive().optional(), type: z.string(), data: z.unknown() });
export type EventMessage = z.infer<typeof eventMessageSchema>;
