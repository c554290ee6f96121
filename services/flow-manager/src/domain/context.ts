import { randomUUID } from 'node:crypto';
import { OutboundPolicy, type Bus, type Logger } from '@avp/shared';
import type { FlowManagerDb } from '../db/tables.ts';
import type { AiLookup } from './flows/action-references.ts';
import type { FlowManagerEventType } from '@avp/shared';

/** What domain code needs: the database, the bus and a logger. */
export interface DomainContext {
  db: FlowManagerDb;
  bus: Bus;
  logger: Logger;
  /** The rule for URLs customers have the platform fetch (`play` media), checked when saved and when played. */
  outbound: OutboundPolicy;
  /** Publishes an event; a failure is logged, never thrown into the caller's work. */
  publish(type: FlowManagerEventType, data: unknown): Promise<void>;
  /** Whether an AI is the customer's (the AIs actions name are checked when a flow is saved). */
  aiLookup?: AiLookup;
}

/** Publishes a resource that changed as the event `type`, and answers it. */
export async function published<T>(context: DomainContext, type: FlowManagerEventType, resource: T): Promise<T> {
  await context.publish(type, resource);
  return resource;
}

export const flowManagerServiceName = 'flow-manager';

/** Builds the context; events go out on `flow-manager.event`. */
export function createDomainContext(db: FlowManagerDb, bus: Bus, logger: Logger, outbound = new OutboundPolicy(), aiLookup?: AiLookup): DomainContext {
  return {
    db,
    bus,
    logger,
    outbound,
    ...(aiLookup ? { aiLookup } : {}),
    async publish(type, data) {
      try {
        // An id per event: ai-manager relays call and activeflow events to customers once by it.
        await bus.publish(flowManagerServiceName, { type, data, id: randomUUID() });
      } catch (error) {
        logger.error({ err: error, type }, 'could not publish an event');
      }
    },
  };
}
