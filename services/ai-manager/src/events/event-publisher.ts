import { creationTimestamps, newId, type AiManagerEventType, type Bus, type Logger } from '@avp/shared';
import { sql, type Kysely } from 'kysely';
import type { AiManagerDb, AiManagerTables } from '../db/tables.ts';
import { eventMessageText, webhookOrderingKey } from './event-message.ts';

/** An event staged inside a transaction and published once it commits. */
export interface StagedEvent {
  type: AiManagerEventType;
  customerId: string;
  data: unknown;
  /**
   * Its `event_outbox` row, whose id is the event's id; absent for events that are never
   * stored (streamed text), which get a fresh id when published.
   */
  outboxId?: string;
  /** The customer's sequence number (stored events only). */
  seq?: number;
}

/** Stages an event: call it inside the transaction that makes the change. */
export type EmitEvent = (type: AiManagerEventType, customerId: string, data: unknown) => Promise<void>;

/**
 * Publishes ai-manager's events. The events a transaction emits are written at its end, still
 * inside it: each gets the customer's next sequence number (`event_sequences`, whose row lock
 * is held to the commit, so numbers follow commit order without gaps), its `event_outbox` row
 * and, when the customer has a webhook URI, its webhook delivery. Writing them last keeps that
 * lock the last one a transaction takes, so it cannot join a deadlock. After the commit the
 * events are published on the bus (with their id and number), where WebSocket fan-out and
 * other services pick them up, and the relay marks their rows published; rows stay for the
 * replay window. If the process dies in between, the relay of any instance publishes the row
 * later: bus events are at least once, and a duplicate carries the same id.
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

  /**
   * Writes a transaction's events, in order, inside it (numbers, outbox rows, webhook
   * deliveries). An event may bring its id (one relayed from another service keeps its own).
   */
  async stage(db: AiManagerDb, events: readonly Omit<StagedEvent, 'seq'>[]): Promise<StagedEvent[]> {
    if (events.length === 0) return [];
    const next = await this.reserveNumbers(db, events);
    const staged = events.map((event): Required<StagedEvent> => {
      const seq = next.get(event.customerId)!;
      next.set(event.customerId, seq + 1);
      return { ...event, outboxId: event.outboxId ?? newId(), seq };
    });
    const { tm_create: now } = creationTimestamps();
    await db
      .insertInto('event_outbox')
      .values(staged.map((event) => ({ id: event.outboxId, event_type: event.type, data: JSON.stringify(event.data), tm_create: now, customer_id: event.customerId, seq: event.seq })))
      .execute();
    const hooked = await db
      .selectFrom('customers')
      .select(['id', 'webhook_uri'])
      .where('id', 'in', [...next.keys()])
      .where('webhook_uri', '<>', '')
      .where('tm_delete', 'is', null)
      .execute();
    const uris = new Map(hooked.map((customer) => [customer.id, customer.webhook_uri]));
    const deliveries = staged.filter((event) => uris.has(event.customerId));
    if (deliveries.length > 0) {
      await db
        .insertInto('webhook_deliveries')
        .values(
          deliveries.map((event) => ({
            id: newId(),
            customer_id: event.customerId,
            event_type: event.type,
            body: eventMessageText({ id: event.outboxId, seq: event.seq, type: event.type, data: event.data }),
            uri: uris.get(event.customerId)!,
            status: 'pending',
            attempts: 0,
            next_attempt_at: sql<string>`clock_timestamp()`,
            last_error: '',
            event_id: event.outboxId,
            event_seq: event.seq,
            ordering_key: webhookOrderingKey(event.type, event.data),
            tm_create: now,
            tm_update: now,
          })),
        )
        .execute();
    }
    return staged;
  }

  /**
   * Takes the next numbers of each customer: answers the first one per customer. Customers go
   * in id order, so two transactions with events of the same customers lock them alike.
   */
  private async reserveNumbers(db: AiManagerDb, events: readonly { customerId: string }[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.customerId, (counts.get(event.customerId) ?? 0) + 1);
    const first = new Map<string, number>();
    for (const customerId of [...counts.keys()].sort()) {
      const count = counts.get(customerId)!;
      const result = await sql<{ last_seq: number }>`
        insert into ${sql.id(this.schema, 'event_sequences')} as counter (customer_id, last_seq)
        values (${customerId}, ${count})
        on conflict (customer_id) do update set last_seq = counter.last_seq + excluded.last_seq
        returning last_seq`.execute(db);
      first.set(customerId, Number(result.rows[0]!.last_seq) - count + 1);
    }
    return first;
  }

  /** Publishes committed events on the bus, in order, and wakes the webhook dispatcher. */
  async publish(events: readonly StagedEvent[]): Promise<void> {
    for (const event of events) {
      try {
        const numbered = event.seq !== undefined ? { seq: event.seq } : {};
        await this.bus.publish(this.publisher, { type: event.type, data: event.data, id: event.outboxId ?? newId(), ...numbered });
        if (event.outboxId) this.published.push(event.outboxId);
      } catch (error) {
        // The outbox row stays unpublished; the relay publishes it later.
        this.logger.error({ err: error, type: event.type }, 'publishing an event failed');
      }
    }
    if (events.some((event) => event.outboxId)) for (const listener of this.listeners) listener();
  }

  /** Outbox rows published since the last call (the relay marks them published). */
  takePublished(): string[] {
    return this.published.splice(0);
  }

  /** Publishes one event read back from the outbox, with its own id and number. */
  async republish(row: { id: string; event_type: string; data: string; seq: number | null }): Promise<void> {
    await this.bus.publish(this.publisher, { type: row.event_type, data: JSON.parse(row.data) as unknown, id: row.id, ...(row.seq !== null ? { seq: row.seq } : {}) });
  }
}

/**
 * Runs `work` in a transaction with an `emit` that stages events; they reach the outboxes at
 * the end of the transaction and the bus after it commits (never when it rolls back).
 */
export async function withEvents<T>(
  db: Kysely<AiManagerTables>,
  events: EventPublisher,
  work: (trx: AiManagerDb, emit: EmitEvent) => Promise<T>,
): Promise<T> {
  let staged: StagedEvent[] = [];
  const result = await db.transaction().execute(async (trx) => {
    const emitted: Omit<StagedEvent, 'outboxId' | 'seq'>[] = [];
    const value = await work(trx, async (type, customerId, data) => {
      emitted.push({ type, customerId, data });
    });
    staged = await events.stage(trx, emitted);
    return value;
  });
  await events.publish(staged);
  return result;
}
