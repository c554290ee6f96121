import { appError } from '@avp/shared';
import { z } from 'zod';

/** One inbound text, whatever the vendor: who wrote it to which address, and the vendor's id. */
export interface InboundText {
  providerMessageId: string;
  /** The customer's own address: the number written to (sms), the bot's user id (line). */
  self: string;
  /** The contact: the sender number (sms), the user, group or room (line). */
  peer: string;
  text: string;
  /** LINE: the token that lets one reply go out for free within about a minute. */
  replyToken?: string;
}

const twilioMessageSchema = z.object({
  From: z.string().trim().min(1).max(200),
  To: z.string().trim().min(1).max(200),
  Body: z.string().max(10_000).default(''),
  MessageSid: z.string().trim().min(1).max(200),
});

function badBody(problem: string): Error {
  return appError('VALIDATION_FAILED', problem, { problems: [problem] });
}

/** Twilio's form fields of an incoming SMS (other fields ignored); a bad body is a 400. */
export function parseTwilioMessage(params: Record<string, string>): InboundText {
  const parsed = twilioMessageSchema.safeParse(params);
  if (!parsed.success) throw badBody(`not an incoming message: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return { providerMessageId: parsed.data.MessageSid, self: parsed.data.To, peer: parsed.data.From, text: parsed.data.Body };
}

const lineBodySchema = z.object({ destination: z.string().min(1).max(200), events: z.array(z.unknown()).max(1000) });

const lineSourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('user'), userId: z.string().min(1).max(200) }),
  z.object({ type: z.literal('group'), groupId: z.string().min(1).max(200) }),
  z.object({ type: z.literal('room'), roomId: z.string().min(1).max(200) }),
]);

const lineTextEventSchema = z.object({
  type: z.literal('message'),
  mode: z.string().optional(),
  webhookEventId: z.string().max(200).optional(),
  replyToken: z.string().max(500).optional(),
  source: lineSourceSchema,
  message: z.object({ type: z.literal('text'), id: z.string().min(1).max(200), text: z.string().max(10_000) }),
});

/** What a LINE webhook body holds: the texts taken and how many events were ignored. */
export interface LineWebhookContent {
  texts: InboundText[];
  ignored: { type: string; messageType?: string; mode?: string }[];
}

/**
 * LINE's webhook body `{destination, events[]}`. Text messages of active channels are taken;
 * other events, other message types and `standby` events (another module has the chat) are
 * ignored. A body that is not that shape, or a text message event missing its parts, is a 400.
 */
export function parseLineWebhook(rawBody: string): LineWebhookContent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw appError('INVALID_JSON_BODY');
  }
  const body = lineBodySchema.safeParse(json);
  if (!body.success) throw badBody('not a LINE webhook body: {destination, events[]} expected');
  const content: LineWebhookContent = { texts: [], ignored: [] };
  for (const [index, event] of body.data.events.entries()) {
    const shape = (typeof event === 'object' && event !== null ? event : {}) as { type?: unknown; mode?: unknown; message?: { type?: unknown } };
    const type = typeof shape.type === 'string' ? shape.type : 'unknown';
    const messageType = typeof shape.message?.type === 'string' ? shape.message.type : undefined;
    const mode = typeof shape.mode === 'string' ? shape.mode : undefined;
    if (type !== 'message' || messageType !== 'text' || mode === 'standby') {
      content.ignored.push({ type, ...(messageType ? { messageType } : {}), ...(mode ? { mode } : {}) });
      continue;
    }
    const parsed = lineTextEventSchema.safeParse(event);
    if (!parsed.success) throw badBody(`events[${index}]: not a valid text message event (${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')})`);
    const { source, message, replyToken } = parsed.data;
    content.texts.push({
      providerMessageId: message.id,
      self: body.data.destination,
      peer: source.type === 'user' ? source.userId : source.type === 'group' ? source.groupId : source.roomId,
      text: message.text,
      ...(replyToken ? { replyToken } : {}),
    });
  }
  return content;
}
