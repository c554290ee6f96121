import type { EventEnvelope } from '@avp/shared';
import type { Kysely } from 'kysely';
import type { AiManagerTables } from '../db/tables.ts';

/** What a client resuming after `since` gets: the kept events, or why it cannot have them. */
export type ReplayResult =
  | { kind: 'events'; events: EventEnvelope[]; latestSeq: number }
  /** Some events after `since` are no longer kept (or more than a replay may carry). */
  | { kind: 'exceeded'; latestSeq: number; oldestKeptSeq: number | null; reason: string }
  /** `since` is past the customer's latest number. */
  | { kind: 'ahead'; latestSeq: number };

/** Reads a customer's kept events after a sequence number, for WebSocket resume. */
export type ReadEventsSince = (customerId: string, since: number) => Promise<ReplayResult>;

/**
 * Replays from the event outbox, which keeps a customer's events for the replay window with
 * gapless numbers: the counter is read first, so every event up to it is already committed,
 * and the replay is complete exactly when the first kept event after `since` is `since + 1`.
 * At most `maxEvents` are replayed; a client further behind is told the window was exceeded
 * rather than given a partial replay it could not tell from a complete one.
 */
export function outboxReplay(db: Kysely<AiManagerTables>, publisher: string, maxEvents: number): ReadEventsSince {
  return async (customerId, since) => {
    const counter = await db.selectFrom('event_sequences').select('last_seq').where('customer_id', '=', customerId).executeTakeFirst();
    const latestSeq = Number(counter?.last_seq ?? 0);
    if (since > latestSeq) return { kind: 'ahead', latestSeq };
    if (since === latestSeq) return { kind: 'events', events: [], latestSeq };
    const rows = await db
      .selectFrom('event_outbox')
      .select(['id', 'event_type', 'data', 'seq'])
      .where('customer_id', '=', customerId)
      .where('seq', '>', since)
      .where('seq', '<=', latestSeq)
      .orderBy('seq')
      .limit(maxEvents + 1)
      .execute();
    const oldestKeptSeq = rows[0]?.seq ?? null;
    if (oldestKeptSeq !== since + 1) {
      return { kind: 'exceeded', latestSeq, oldestKeptSeq, reason: `events after seq ${since} are no longer kept (the replay window has passed)` };
    }
    if (rows.length > maxEvents) {
      return { kind: 'exceeded', latestSeq, oldestKeptSeq, reason: `more than ${maxEvents} events came after seq ${since}` };
    }
    return {
      kind: 'events',
      latestSeq,
      events: rows.map((row) => ({ type: row.event_type, publisher, data: JSON.parse(row.data) as unknown, id: row.id, seq: row.seq! })),
    };
  };
}

/**
 * What a client whose replay cannot be given is told: it is subscribed to live events only and
 * should read the current state through the API.
 */
export function replayNotice(result: Exclude<ReplayResult, { kind: 'events' }>, since: number): Record<string, unknown> {
  const why = result.kind === 'exceeded' ? result.reason : `since ${since} is past the latest event (${result.latestSeq})`;
  return {
    type: 'replay_window_exceeded',
    since,
    latest_seq: result.latestSeq,
    oldest_seq: result.kind === 'exceeded' ? result.oldestKeptSeq : null,
    message: `${why}; subscribed to live events only: read the current state through the API`,
  };
}
