import { appError, creationTimestamps, newId, type Activeflow } from '@avp/shared';
import { z } from 'zod';
import type { ActiveflowRunner } from '../activeflows/activeflow-runner.ts';
import { findCustomerActiveflow, toActiveflow } from '../activeflows/activeflow-store.ts';
import type { DomainContext } from '../context.ts';
import { findNumberByValue } from '../numbers/number-service.ts';

/** An inbound text message (SMS/LINE style) as a gateway posts it. */
export const inboundMessageSchema = z.strictObject({
  conversation_id: z.string().min(1).max(200),
  /** The sender (the customer's contact). */
  source: z.string().min(1).max(200),
  /** The customer's number the message was sent to. */
  destination: z.string().min(1).max(200),
  text: z.string().max(10_000),
});
export type InboundMessage = z.infer<typeof inboundMessageSchema>;

/** What another service (ai-manager's conversations) adds to an inbound message. */
export interface InboundMessageOptions {
  /** The message's id where it is stored (`voipbin.conversation_message.id`); a repeat of it starts nothing new. */
  messageId?: string;
  /** The flow to run (a channel's message flow) instead of the destination number's; must be the customer's. */
  flowId?: string;
}

/**
 * Records an inbound message and runs a message flow in a fresh activeflow (reference type
 * `conversation`) with the `voipbin.conversation_message.*` and `voipbin.conversation.*`
 * variables set: the given flow, else the destination number's message flow. With the
 * sender's own message id, a message received again (a retried request whose answer was
 * lost) answers the activeflow it started the first time.
 */
export async function receiveInboundMessage(
  context: DomainContext,
  runner: ActiveflowRunner,
  customerId: string,
  message: InboundMessage,
  options: InboundMessageOptions = {},
): Promise<{ id: string; activeflow: Activeflow }> {
  if (options.messageId) {
    const seen = await context.db
      .selectFrom('inbound_messages')
      .select(['id', 'activeflow_id'])
      .where('id', '=', options.messageId)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    const activeflow = seen?.activeflow_id ? await findCustomerActiveflow(context.db, customerId, seen.activeflow_id) : undefined;
    if (seen && activeflow) return { id: seen.id, activeflow: toActiveflow(activeflow) };
  }
  const flowId = options.flowId ?? (await numberMessageFlow(context, customerId, message.destination));
  const id = options.messageId ?? newId();
  const activeflow = await runner.startFlow({
    customerId,
    flowId,
    referenceType: 'conversation',
    referenceId: message.conversation_id,
    variables: {
      'voipbin.conversation_message.id': id,
      'voipbin.conversation_message.text': message.text,
      'voipbin.conversation_message.direction': 'incoming',
      'voipbin.conversation_message.source': message.source,
      'voipbin.conversation_message.destination': message.destination,
      'voipbin.conversation.id': message.conversation_id,
    },
  });
  await context.db
    .insertInto('inbound_messages')
    .values({
      id,
      customer_id: customerId,
      conversation_id: message.conversation_id,
      source: message.source,
      destination: message.destination,
      text: message.text,
      activeflow_id: activeflow.id,
      ...creationTimestamps(),
    })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
  return { id, activeflow };
}

/** The message flow of the customer's number the message was sent to. */
async function numberMessageFlow(context: DomainContext, customerId: string, destination: string): Promise<string> {
  const number = await findNumberByValue(context.db, destination);
  if (!number || number.customer_id !== customerId) throw appError('RESOURCE_NOT_FOUND', `No number ${destination} of yours.`);
  if (!number.message_flow_id) throw appError('INVALID_STATE', `The number ${destination} has no message flow.`);
  return number.message_flow_id;
}
