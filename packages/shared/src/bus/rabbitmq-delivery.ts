import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../logging/create-logger.ts';
import { eventEnvelopeSchema, type EventEnvelope } from '../schemas/envelopes.ts';
import type { EventHandler, RpcHandler } from './bus.ts';
import { runRpcHandler } from './replies.ts';

/** Pause before an event whose handler failed is delivered again, times the attempt. */
const redeliveryDelayMs = 200;

/**
 * Handles one RPC request taken from a queue: runs the handler, sends its reply to the
 * requester's reply-to and acknowledges. A channel gone with its connection leaves the request
 * unacknowledged (the requester has been told already).
 */
export async function deliverRequest(channel: Channel, handler: RpcHandler, message: ConsumeMessage, logger: Logger): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(message.content.toString('utf8'));
  } catch {
    raw = undefined;
  }
  const reply = await runRpcHandler(handler, raw, logger);
  const { replyTo, correlationId } = message.properties;
  try {
    if (replyTo) {
      channel.sendToQueue(String(replyTo), Buffer.from(JSON.stringify(reply)), {
        correlationId,
        contentType: 'application/json',
      });
    }
    channel.ack(message);
  } catch (error) {
    logger.debug({ reason: (error as Error).message }, 'could not send an rpc reply');
  }
}

/** Where an event consumer's messages come from and go when they fail. */
export interface EventQueue {
  queue: string;
  /** Where an event goes after `maxAttempts` failed deliveries (not for temporary queues). */
  deadQueue: string;
  temporary: boolean;
  maxAttempts: number;
}

/**
 * Handles one event taken from a queue: acknowledged once its handler succeeds; a failure is
 * sent to the queue again (with `x-attempt` counting up, after a pause growing with it) until
 * `maxAttempts`, then to the dead-letter queue. A channel gone with its connection leaves the
 * event unacknowledged: the broker delivers it again after reconnecting.
 */
export async function deliverEvent(channel: Channel, target: EventQueue, handler: EventHandler, message: ConsumeMessage, logger: Logger): Promise<void> {
  const { queue, deadQueue, temporary, maxAttempts } = target;
  const attempt = Number(message.properties.headers?.['x-attempt'] ?? 1);
  let failure: unknown;
  let event: EventEnvelope | undefined;
  try {
    event = eventEnvelopeSchema.parse(JSON.parse(message.content.toString('utf8')));
    await handler(event);
  } catch (error) {
    failure = error;
  }
  try {
    if (failure === undefined) {
      channel.ack(message);
      return;
    }
    const type = event?.type ?? 'malformed';
    if (event && attempt < maxAttempts) {
      logger.warn({ queue, type, attempt, err: failure }, 'event handler failed; redelivering');
      await new Promise((resolve) => setTimeout(resolve, redeliveryDelayMs * attempt));
      channel.sendToQueue(queue, message.content, {
        persistent: !temporary,
        contentType: 'application/json',
        headers: { 'x-attempt': attempt + 1 },
      });
    } else {
      logger.error({ queue, type, attempts: attempt, err: failure }, 'event dead-lettered');
      if (!temporary) {
        channel.sendToQueue(deadQueue, message.content, {
          persistent: true,
          contentType: 'application/json',
          headers: { 'x-attempt': attempt, 'x-error': failure instanceof Error ? failure.message : String(failure) },
        });
      }
    }
    channel.ack(message);
  } catch (error) {
    logger.debug({ reason: (error as Error).message }, 'could not settle an event');
  }
}

/** Counts running handlers so a closing consumer can wait for them. */
export class InFlight {
  private readonly running = new Set<Promise<void>>();

  track(task: Promise<void>): void {
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
  }

  async idle(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
