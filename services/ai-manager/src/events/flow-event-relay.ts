import { customerFlowEventTypes, type Bus, type EventEnvelope, type Logger, type Subscription } from '@avp/shared';
import type { AiManagerDb } from '../db/tables.ts';
import type { EventPublisher } from './event-publisher.ts';

export interface FlowEventRelayOptions {
  db: AiManagerDb;
  bus: Bus;
  events: EventPublisher;
  logger: Logger;
  serviceName: string;
  /** Longest a relay keeps retrying one event (a database outage) before it gives up on it (default 5 minutes). */
  maxRetryMs?: number;
}

/** Pauses between the tries of one event: short at first, then every 5 s. */
const retryDelaysMs = [200, 500, 1000, 2000, 5000];

/**
 * flow-manager's events about a customer's calls, activeflows and recordings, delivered to the
 * customer like ai-manager's own: each is written to ai-manager's outbox (the customer's next
 * sequence number, a webhook delivery when the customer has a webhook URI, signed and retried
 * like every webhook) and published on ai-manager's exchange, where every instance's WebSocket
 * hub fans it out to the topics `customer_id:<id>:call[:<call id>]`, `...:activeflow[...]` and
 * `...:recording[...]`, and where `since` replays it.
 *
 * Order: one ai-manager instance at a time takes them (a single active consumer, one event at a
 * time), and an event that cannot be written is tried again in place rather than put back at
 * the end of the queue, so a resource's events reach the customer in the order flow-manager
 * published them. An event id seen before (a redelivery) is dropped.
 */
export class FlowEventRelay {
  private subscription: Subscription | undefined;
  private readonly logger: Logger;
  private stopping = false;

  constructor(private readonly options: FlowEventRelayOptions) {
    this.logger = options.logger.child({ component: 'flow-event-relay' });
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.subscription = await this.options.bus.subscribe('flow-manager', [...customerFlowEventTypes], (event) => this.relay(event), {
      queue: `${this.options.serviceName}.customer-flow-events`,
      concurrency: 1,
      singleActiveConsumer: true,
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscription?.close();
    this.subscription = undefined;
  }

  private async relay(event: EventEnvelope): Promise<void> {
    const data = event.data as { customer_id?: unknown } | null;
    const customerId = typeof data?.customer_id === 'string' ? data.customer_id.toLowerCase() : undefined;
    if (!customerId || !(customerFlowEventTypes as readonly string[]).includes(event.type)) {
      this.logger.warn({ type: event.type }, 'a flow-manager event names no customer; not delivered');
      return;
    }
    const type = event.type as (typeof customerFlowEventTypes)[number];
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await this.write(type, customerId, event);
        return;
      } catch (error) {
        const exhausted = Date.now() - startedAt >= (this.options.maxRetryMs ?? 300_000);
        if (exhausted || this.stopping) {
          this.logger.error({ err: error, type, eventId: event.id }, 'could not deliver a flow-manager event to its customer; dropped');
          return;
        }
        this.logger.warn({ err: error, type, attempt: attempt + 1 }, 'could not store a flow-manager event; trying again');
        await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[Math.min(attempt, retryDelaysMs.length - 1)]));
      }
    }
  }

  private async write(type: (typeof customerFlowEventTypes)[number], customerId: string, event: EventEnvelope): Promise<void> {
    const { db, events } = this.options;
    const staged = await db.transaction().execute(async (trx) => {
      if (event.id) {
        const seen = await trx.selectFrom('event_outbox').select('id').where('id', '=', event.id).executeTakeFirst();
        if (seen) return [];
      }
      return events.stage(trx, [{ type, customerId, data: event.data, ...(event.id ? { outboxId: event.id } : {}) }]);
    });
    await events.publish(staged);
  }
}
