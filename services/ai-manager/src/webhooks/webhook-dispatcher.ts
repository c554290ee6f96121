import { currentTimestamp, OutboundRefusedError, postOutbound, updateTimestamps, type Logger, type OutboundPolicy } from '@avp/shared';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { AiManagerTables, WebhookDeliveriesTable } from '../db/tables.ts';
import { retryDelayMs } from './webhook-backoff.ts';
import { signWebhook, webhookHeaders } from './webhook-signature.ts';

export interface WebhookDispatcherOptions {
  /** Longest wait for a receiver's answer. */
  timeoutMs: number;
  /** Attempts before a delivery is given up as `failed`. */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often due deliveries are looked for when nothing wakes the dispatcher. */
  pollIntervalMs: number;
  /** Deliveries in flight at once (per process). */
  batchSize: number;
  /** Called once per attempt with its outcome. */
  onAttempt?: (outcome: 'delivered' | 'retry' | 'failed') => void;
}

type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/**
 * Sends the webhook outbox. Deliveries of one resource (`ordering_key`: an AIcall with its
 * messages, or another resource) go out one at a time in event order: a delivery is due only
 * when no earlier delivery of its key is still pending, whether in flight or waiting for a
 * retry, so a later event waits until the earlier one is delivered or given up. The order is
 * kept in the database, so it holds across ai-manager processes. Different keys go in
 * parallel: up to `batchSize` deliveries are in flight per process, and a slow or failing
 * receiver holds back only the later deliveries of its own resource.
 *
 * A due row is claimed by moving its `next_attempt_at` past the request timeout (a lease,
 * taken with SKIP LOCKED so instances never send the same row at once); success marks it
 * delivered, failure schedules the next attempt with backoff. A process that dies mid-delivery
 * leaves the row to be picked up again when the lease ends, so deliveries are at least once:
 * every attempt carries the event's id (`x-avp-event-id` and the body's `id`), by which
 * receivers drop duplicates. Every attempt goes through the outbound policy (the URI was
 * checked when it was saved, but its host may resolve elsewhere now); a refused URI fails the
 * delivery at once, since retrying cannot make it acceptable.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private filling: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private again = false;
  private stopped = true;

  constructor(
    private readonly db: Kysely<AiManagerTables>,
    private readonly logger: Logger,
    private readonly outbound: OutboundPolicy,
    private readonly options: WebhookDispatcherOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Stops polling and waits for deliveries in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.filling;
    await Promise.all([...this.inFlight]);
  }

  /** Looks for due deliveries now (after a commit that queued some, or a delivery that ended). */
  wake(): void {
    if (this.stopped) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.filling = this.fill()
      .catch((error: unknown) => this.logger.error({ err: error }, 'webhook dispatch failed'))
      .finally(() => {
        this.filling = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.wake();
          return;
        }
        this.timer = setTimeout(() => this.wake(), this.options.pollIntervalMs);
        this.timer.unref();
      });
  }

  /** Claims due deliveries while there is room, and starts each without waiting for the others. */
  private async fill(): Promise<void> {
    while (!this.stopped) {
      const room = this.options.batchSize - this.inFlight.size;
      if (room <= 0) return;
      const claimed = await this.claim(room);
      for (const row of claimed) {
        const delivery: Promise<void> = this.deliver(row.delivery, row.secret)
          .catch((error: unknown) => this.logger.error({ err: error, deliveryId: row.delivery.id }, 'webhook delivery failed'))
          .finally(() => {
            this.inFlight.delete(delivery);
            // Its resource's next delivery may be due now.
            this.wake();
          });
        this.inFlight.add(delivery);
      }
      if (claimed.length < room) return;
    }
  }

  private async claim(limit: number): Promise<{ delivery: DeliveryRow; secret: string | undefined }[]> {
    const leaseMs = this.options.timeoutMs + 5000;
    const rows = await this.db
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: sql<string>`clock_timestamp() + make_interval(secs => ${leaseMs / 1000})`, ...updateTimestamps() })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('webhook_deliveries as due')
          .select('due.id')
          .where('due.status', '=', 'pending')
          .where('due.next_attempt_at', '<=', sql<string>`clock_timestamp()`)
          // Only the head of its resource: no earlier delivery of the key is still pending.
          .where((head) =>
            head.or([
              head('due.ordering_key', '=', ''),
              head.not(
                head.exists(
                  head
                    .selectFrom('webhook_deliveries as earlier')
                    .select('earlier.id')
                    .whereRef('earlier.customer_id', '=', 'due.customer_id')
                    .whereRef('earlier.ordering_key', '=', 'due.ordering_key')
                    .where('earlier.status', '=', 'pending')
                    .whereRef('earlier.event_seq', '<', 'due.event_seq'),
                ),
              ),
            ]),
          )
          .orderBy('due.next_attempt_at')
          .limit(limit)
          .forUpdate()
          .skipLocked(),
      )
      .returningAll()
      .execute();
    if (rows.length === 0) return [];
    const customers = await this.db
      .selectFrom('customers')
      .select(['id', 'webhook_secret'])
      .where('id', 'in', [...new Set(rows.map((row) => row.customer_id))])
      .where('tm_delete', 'is', null)
      .execute();
    const secrets = new Map(customers.map((customer) => [customer.id, customer.webhook_secret]));
    return rows.map((delivery) => ({ delivery, secret: secrets.get(delivery.customer_id) }));
  }

  private async deliver(delivery: DeliveryRow, secret: string | undefined): Promise<void> {
    if (secret === undefined) {
      await this.finish(delivery, 'failed', 'the customer was deleted');
      return;
    }
    const timestamp = Math.floor(Date.now() / 1000);
    let failure: string;
    let refused = false;
    try {
      const response = await postOutbound(this.outbound, delivery.uri, {
        body: delivery.body,
        timeoutMs: this.options.timeoutMs,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'avp-webhooks/1',
          [webhookHeaders.signature]: signWebhook(secret, timestamp, delivery.body),
          [webhookHeaders.timestamp]: String(timestamp),
          [webhookHeaders.event]: delivery.event_type,
          [webhookHeaders.delivery]: delivery.id,
          // Rows from before event ids existed fall back to their delivery id.
          [webhookHeaders.eventId]: delivery.event_id ?? delivery.id,
        },
      });
      if (response.status >= 200 && response.status < 300) {
        await this.finish(delivery, 'delivered', '');
        this.options.onAttempt?.('delivered');
        return;
      }
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
      refused = error instanceof OutboundRefusedError;
      if (refused) failure = `refused: webhook_uri ${failure}`;
    }
    const attempts = delivery.attempts + 1;
    if (attempts >= this.options.maxAttempts || refused) {
      this.logger.warn({ deliveryId: delivery.id, uri: delivery.uri, failure, attempts }, 'webhook delivery given up');
      await this.finish(delivery, 'failed', failure);
      this.options.onAttempt?.('failed');
      return;
    }
    this.options.onAttempt?.('retry');
    const delayMs = retryDelayMs(attempts, this.options.retryBaseMs, this.options.retryMaxMs);
    this.logger.info({ deliveryId: delivery.id, failure, attempts, delayMs }, 'webhook delivery failed; will retry');
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        attempts,
        last_error: failure.slice(0, 500),
        next_attempt_at: sql<string>`clock_timestamp() + make_interval(secs => ${delayMs / 1000})`,
        ...updateTimestamps(),
      })
      .where('id', '=', delivery.id)
      .execute();
    // Retries due before the next poll would otherwise wait for it.
    if (delayMs < this.options.pollIntervalMs && !this.stopped) {
      setTimeout(() => this.wake(), delayMs).unref();
    }
  }

  private async finish(delivery: DeliveryRow, status: 'delivered' | 'failed', error: string): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status, attempts: delivery.attempts + 1, last_error: error.slice(0, 500), tm_update: currentTimestamp() })
      .where('id', '=', delivery.id)
      .execute();
  }
}
