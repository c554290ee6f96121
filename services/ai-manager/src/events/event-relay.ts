import type { Logger } from '@avp/shared';
import { sql, type Kysely } from 'kysely';
import type { AiManagerTables } from '../db/tables.ts';
import type { EventPublisher } from './event-publisher.ts';

export interface EventRelayOptions {
  /** How often published rows are marked, stale rows looked for and old rows removed. */
  intervalMs: number;
  /** A row older than this was left by a process that did not publish it. */
  staleAfterMs: number;
  /** Stale rows published per round. */
  batchSize: number;
  /** How long published rows are kept for WebSocket clients that resume (0 = removed at once). */
  replayWindowMs: number;
  /** Called with the number of stale rows a round published. */
  onRepublished?: (count: number) => void;
}

/**
 * Keeps the event outbox complete and bounded: marks the rows this process has published (in
 * one statement per round), publishes rows that stayed unpublished longer than `staleAfterMs`
 * (their process died or lost the bus), oldest first, and removes published rows older than
 * the replay window. Stale rows are claimed with SKIP LOCKED, so two instances never
 * republish the same row.
 */
export class EventRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<AiManagerTables>,
    private readonly events: EventPublisher,
    private readonly logger: Logger,
    private readonly options: EventRelayOptions,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.round()
        .catch((error: unknown) => this.logger.error({ err: error }, 'event relay round failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the rounds and marks what was published meanwhile. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.markPublished().catch((error: unknown) => this.logger.warn({ err: error }, 'could not mark published events'));
  }

  /** One round: mark published rows, publish stale ones, remove those past the window. */
  async round(): Promise<void> {
    await this.markPublished();
    await this.publishStale();
    await this.removeExpired();
  }

  private async markPublished(): Promise<void> {
    const ids = this.events.takePublished();
    if (ids.length > 0) {
      await this.db.updateTable('event_outbox').set({ published_at: sql<string>`clock_timestamp()` }).where('id', 'in', ids).execute();
    }
  }

  private async publishStale(): Promise<void> {
    const staleSeconds = this.options.staleAfterMs / 1000;
    await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('event_outbox')
        .select(['id', 'event_type', 'data', 'seq'])
        .where('published_at', 'is', null)
        .where('tm_create', '<', sql<string>`clock_timestamp() - make_interval(secs => ${staleSeconds})`)
        .orderBy('tm_create')
        .limit(this.options.batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return;
      for (const row of rows) await this.events.republish(row);
      await trx
        .updateTable('event_outbox')
        .set({ published_at: sql<string>`clock_timestamp()` })
        .where('id', 'in', rows.map((row) => row.id))
        .execute();
      this.logger.warn({ count: rows.length }, 'published events left in the outbox');
      this.options.onRepublished?.(rows.length);
    });
  }

  /** Published rows past the replay window are no longer needed (the customer's counter stays). */
  private async removeExpired(): Promise<void> {
    const windowSeconds = this.options.replayWindowMs / 1000;
    await this.db
      .deleteFrom('event_outbox')
      .where('published_at', 'is not', null)
      .where('tm_create', '<', sql<string>`clock_timestamp() - make_interval(secs => ${windowSeconds})`)
      .execute();
  }
}
