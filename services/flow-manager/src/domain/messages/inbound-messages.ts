import { appError, creationTimestamps, newId, type Activeflow } from '@avp/shared';
import { z } from 'zod';
import type { ActiveflowRunner } from '../activeflows/activeflow-runner.ts';
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

/**
 * Records an inbound message and runs the destination number's message flow in a fresh
 * activeflow (reference type `conversation`) with the `voipbin.conversation_message.*`
 * and `voipbin.conversation.*` variables set.
 */
export async function receiveInboundMessage(
  context: DomainContext,
  runner: ActiveflowRunner,
  customerId: string,
  message: InboundMessage,
): Promise<{ id: string; activeflow: Activeflow }> {
  const number = await findNumberByValue(context.db, message.destination);
  if (!number || number.customer_id !== customerId) throw appError('RESOURCE_NOT_FOUND', `No number ${message.destination} of yours.`);
  if (!number.message_flow_id) throw appError('INVALID_STATE', `The number ${message.destination} has no message flow.`);
  const id = newId();
  const activeflow = await runner.startFlow({
    customerId,
    flowId: number.message_flow_id,
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
    .execute();
  return { id, activeflow };
}
