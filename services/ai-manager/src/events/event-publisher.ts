import { currentTimestamp, newId, type AiManagerEventType, type Bus, type Logger } from '@avp/shared';
import { sql, type Kysely } from 'kysely';
import type { AiManagerDb, AiManagerTables } from '../db/tables.ts';

/** An event staged inside a transaction and published once it commits. */
export interface StagedEvent {
  type: AiManagerEventType;
  customerId: string;
  data: unknown;
  /** Its `event_outbox` row; absent for events that are never stored (streamed text). */
  outboxId?: string;
}

/** Stages an event: call it inside the transaction that makes the change. */
export type EmitEvent = (type: AiManagerEventType, customerId: string, data: unknown) => Promise<void>;

/**
 * Publishes ai-manager's events. Staging an event writes, in the transaction of the change
 * and in one statement, its `event_outbox` row and (when the customer has a webhook URI) its
 * webhook delivery. After the commit the event is published on the bus, where WebSocket
 * fan-out and other services pick it up, and its outbox row is deleted (in batches, by the
 * relay). If the process dies in between, the relay of any instance publishes the row
 * later: bus events are at least once.
 */
export class EventPublisher {
  private readonly listeners = new Set<() => void>();
  private readonly published: string[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly publisher: string,
    private readonly schema: string,
    private readonly logger: Logger,
  ) {}

  /** Called after a commit that queued webhook deliveries (the dispatcher wakes up). */
  onWebhooksQueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Writes the outbox rows of an event inside the caller's transaction. */
  async stage(db: AiManagerDb, event: Omit<StagedEvent, 'outboxId'>): Promise<StagedEvent> {
    const outboxId = newId();
    const data = JSON.stringify(event.data);
    const body = JSON.stringify({ type: event.type, data: event.data });
    const now = currentTimestamp();
    await sql`
      with staged as (
        insert into ${sql.id(this.schema, 'event_outbox')} (id, event_type, data, tm_create)
        values (${outboxId}, ${event.type}, ${data}, ${now})
      )
      insert into ${sql.id(this.schema, 'webhook_deliveries')}
        (id, customer_id, event_type, body, uri, status, attempts, next_attempt_at, tm_create, tm_update)
      select ${newId()}, id, ${event.type}, ${body}, webhook_uri, 'pending', 0, clock_timestamp(), ${now}, ${now}
      from ${sql.id(this.schema, 'customers')}
      where id = ${event.customerId} and webhook_uri <> '' and tm_delete is null`.execute(db);
    return { ...event, outboxId };
  }

  /** Publishes committed events on the bus, in order, and wakes the webhook dispatcher. */
  async publish(events: readonly StagedEvent[]): Promise<void> {
    for (const event of events) {
      try {
        await this.bus.publish(this.publisher, { type: event.type, data: event.data });
        if (event.outboxId) this.published.push(event.outboxId);
      } catch (error) {
        // The outbox row stays; the relay publishes it later.
        this.logger.error({ err: error, type: event.type }, 'publishing an event failed');
      }
    }
    if (events.some((event) => event.outboxId)) for (const listener of this.listeners) listener();
  }

  /** Outbox rows published since the last call (the relay deletes them). */
  takePublished(): string[] {
    return this.published.splice(0);
  }

  /** Publishes one event read back from the outbox. */
  async republish(type: string, data: unknown): Promise<void> {
    await this.bus.publish(this.publisher, { type, data });
  }
}

/**
 * Runs `work` in a transaction with an `emit` that stages events; they reach the outboxes in
 * the transaction and the bus after it commits (never when it rolls back).
 */
export async function withEvents<T>(
  db: Kysely<AiManagerTables>,
  events: EventPublisher,
  work: (trx: AiManagerDb, emit: EmitEvent) => Promise<T>,
): Promise<T> {
  const staged: StagedEvent[] = [];
  const result = await db.transaction().execute(async (trx) =>
    work(trx, async (type, customerId, data) => {
      staged.push(await events.stage(trx, { type, customerId, data }));
    }),
  );
  await events.publish(staged);
  return result;
}
