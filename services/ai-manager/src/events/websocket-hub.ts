import type { EventEnvelope, Logger } from '@avp/shared';
import type { WebSocket } from 'ws';
import { eventMessageText } from './event-message.ts';
import { replayNotice, type ReadEventsSince, type ReplayResult } from './event-replay.ts';
import { eventTopic, topicCustomerId, topicMatches } from './topics.ts';
import { parseClientMessage } from './websocket-messages.ts';

export interface WebsocketHubOptions {
  /** Ping interval; a client that has not answered the previous ping is dropped. */
  heartbeatMs: number;
  /** A client whose unsent data exceeds this is dropped instead of buffered further. */
  maxBufferedBytes: number;
  /** Called with the number of connected clients whenever it changes. */
  onClientCount?: (count: number) => void;
  /**
   * The backstop of key revocation: every `keyCheckMs` the hub asks `liveKeyIds` which of
   * its clients' keys are still valid and closes the others (0 or no function = off).
   */
  keyCheckMs?: number;
  liveKeyIds?: (keyIds: string[]) => Promise<Set<string>>;
  /** Reads a customer's kept events after a sequence number (resume); without it `since` is refused. */
  readEventsSince?: ReadEventsSince;
  /**
   * How long the numbers of replayed events are remembered so that their live copies, which may
   * still be on their way from the bus, are not pushed a second time (default 60 s).
   */
  replayDedupeMs?: number;
}

/** Whose connection it is: the access key it was opened with and that key's customer. */
export interface WebsocketOwner {
  customerId: string;
  keyId: string;
}

interface Client {
  socket: WebSocket;
  customerId: string;
  keyId: string;
  topics: Set<string>;
  alive: boolean;
  /** `?since=` of the connection, used by its first subscription that names none. */
  resumeFrom: number | undefined;
  /** Replays in progress: live events wait in `held` meanwhile, so none overtakes the replay. */
  replaying: number;
  held: { event: EventEnvelope; topic: string }[];
  /** Numbers of events replayed recently, whose live copies are dropped. */
  replayed: Set<number>;
}

/** Live events one client may hold back while its replay runs (more: it is dropped as too slow). */
export const maxHeldDuringReplay = 10_000;

/** Most topics one client may hold. */
export const maxTopicsPerClient = 200;

/** Close code for a client dropped because it reads too slowly. */
export const slowClientCloseCode = 1013;

/** Close code for a client whose access key (or customer) was revoked: policy violation. */
export const revokedCloseCode = 1008;

/**
 * The WebSocket clients of this process and their topic subscriptions. Every process
 * receives every ai-manager event (its own temporary bus queue) and pushes each one, as
 * `{id, seq, type, data}`, to its clients whose subscriptions match; a client can only
 * subscribe to its own customer's topics. A subscription with `since` first replays the kept
 * events after that number (`resume`). A connection lives only as long as its key: a revocation
 * (`revoke`, driven by the bus event every instance receives) closes it at once, and a
 * periodic check of the keys in use closes any whose revocation was missed.
 */
export class WebsocketHub {
  private readonly clients = new Set<Client>();
  private heartbeat: NodeJS.Timeout | undefined;
  private keyCheck: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly logger: Logger,
    private readonly options: WebsocketHubOptions,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  start(): void {
    this.heartbeat ??= setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
    const { keyCheckMs, liveKeyIds } = this.options;
    if (keyCheckMs && liveKeyIds && !this.keyCheck) {
      this.keyCheck = setInterval(() => void this.checkKeys(liveKeyIds), keyCheckMs);
      this.keyCheck.unref();
    }
  }

  /** Closes every client (going away) and stops the heartbeat. */
  stop(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    clearInterval(this.keyCheck);
    this.keyCheck = undefined;
    for (const client of this.clients) client.socket.close(1001, 'server shutting down');
    this.clients.clear();
    this.counted();
  }

  /** Takes a new authenticated connection. */
  add(socket: WebSocket, owner: WebsocketOwner, resume: { since?: number } = {}): void {
    const client: Client = {
      socket,
      customerId: owner.customerId.toLowerCase(),
      keyId: owner.keyId,
      topics: new Set(),
      alive: true,
      resumeFrom: resume.since,
      replaying: 0,
      held: [],
      replayed: new Set(),
    };
    this.clients.add(client);
    this.counted();
    socket.on('pong', () => {
      client.alive = true;
    });
    socket.on('message', (raw, isBinary) => this.onMessage(client, isBinary ? '' : raw.toString()));
    socket.on('close', () => this.remove(client));
    socket.on('error', (error) => {
      this.logger.debug({ err: error }, 'websocket client error');
      this.remove(client);
    });
  }

  /** Pushes an event to every matching client of its customer (held back during a replay). */
  deliver(event: EventEnvelope): void {
    const topic = eventTopic(event.type, event.data);
    if (!topic) return;
    const customerId = topicCustomerId(topic);
    let text: string | undefined;
    for (const client of this.clients) {
      if (client.customerId !== customerId) continue;
      if (client.replaying > 0) {
        client.held.push({ event, topic });
        if (client.held.length > maxHeldDuringReplay) this.dropSlow(client);
        continue;
      }
      if (!this.wants(client, event, topic)) continue;
      text ??= eventMessageText(event);
      this.send(client, text);
    }
  }

  /** Whether a live event goes to a client: a topic matches and it was not just replayed. */
  private wants(client: Client, event: EventEnvelope, topic: string): boolean {
    if (event.seq !== undefined && client.replayed.has(event.seq)) return false;
    return [...client.topics].some((subscription) => topicMatches(subscription, topic));
  }

  /**
   * Closes the connections opened with a revoked key, or with any key of a deleted customer;
   * answers how many were closed. Nothing is delivered to them from here on.
   */
  revoke(match: { keyId?: string; customerId?: string }): number {
    const customerId = match.customerId?.toLowerCase();
    let closed = 0;
    for (const client of this.clients) {
      if (client.keyId !== match.keyId && client.customerId !== customerId) continue;
      this.remove(client);
      client.socket.close(revokedCloseCode, 'access key revoked');
      // A peer that does not answer the close must not keep the socket.
      setTimeout(() => client.socket.terminate(), 1000).unref();
      closed += 1;
    }
    if (closed > 0) this.logger.info({ ...match, closed }, 'closed websocket clients of a revoked key');
    return closed;
  }

  /** Asks which keys in use are still valid and revokes the rest (the backstop). */
  private async checkKeys(liveKeyIds: (keyIds: string[]) => Promise<Set<string>>): Promise<void> {
    if (this.checking || this.clients.size === 0) return;
    this.checking = true;
    try {
      const inUse = [...new Set([...this.clients].map((client) => client.keyId))];
      const live = await liveKeyIds(inUse);
      for (const keyId of inUse) if (!live.has(keyId)) this.revoke({ keyId });
    } catch (error) {
      // A failed check (database away) closes nothing; the next one tries again.
      this.logger.warn({ err: error }, 'checking websocket clients\' keys failed');
    } finally {
      this.checking = false;
    }
  }

  private send(client: Client, text: string): void {
    if (client.socket.readyState !== client.socket.OPEN) return;
    if (client.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.dropSlow(client);
      return;
    }
    client.socket.send(text);
  }

  private dropSlow(client: Client): void {
    this.logger.warn({ customerId: client.customerId, buffered: client.socket.bufferedAmount, held: client.held.length }, 'dropping a slow websocket client');
    this.remove(client);
    client.held = [];
    client.socket.close(slowClientCloseCode, 'client too slow');
    // A peer that stopped reading may never finish the closing handshake.
    setTimeout(() => client.socket.terminate(), 1000).unref();
  }

  private onMessage(client: Client, text: string): void {
    const parsed = parseClientMessage(text);
    if ('problem' in parsed) {
      this.send(client, JSON.stringify({ type: 'error', message: parsed.problem }));
      return;
    }
    const { message } = parsed;
    if (message.type === 'ping') {
      this.send(client, JSON.stringify({ type: 'pong' }));
      return;
    }
    const topics = message.topics.map((topic) => topic.toLowerCase());
    const foreign = topics.filter((topic) => topicCustomerId(topic) !== client.customerId);
    if (foreign.length > 0) {
      this.send(client, JSON.stringify({ type: 'error', message: `not your customer's topics: ${foreign.join(', ')}` }));
      return;
    }
    const added = topics.filter((topic) => !client.topics.has(topic)).length;
    if (message.type === 'subscribe' && client.topics.size + added > maxTopicsPerClient) {
      this.send(client, JSON.stringify({ type: 'error', message: `at most ${maxTopicsPerClient} topics per connection` }));
      return;
    }
    const since = message.type === 'subscribe' ? (message.since ?? client.resumeFrom) : undefined;
    if (message.type === 'subscribe') client.resumeFrom = undefined;
    if (since !== undefined && !this.options.readEventsSince) {
      this.send(client, JSON.stringify({ type: 'error', message: 'resuming with since is not available here' }));
      return;
    }
    for (const topic of topics) {
      if (message.type === 'subscribe') client.topics.add(topic);
      else client.topics.delete(topic);
    }
    if (since === undefined) {
      this.send(client, JSON.stringify({ type: `${message.type}d`, topics: [...client.topics] }));
      return;
    }
    void this.resume(client, topics, since, this.options.readEventsSince!);
  }

  /**
   * Replays the kept events of `topics` after `since`, then answers `subscribed` and lets the
   * live events through that arrived meanwhile. Live events are held from before the read, so
   * an event committed after it comes live, and one the replay carried is dropped when its live
   * copy comes: nothing is missed or pushed twice at the seam.
   */
  private async resume(client: Client, topics: string[], since: number, read: ReadEventsSince): Promise<void> {
    client.replaying += 1;
    let replayed = 0;
    let result: ReplayResult | undefined;
    try {
      result = await read(client.customerId, since);
      if (result.kind === 'events') {
        const seqs: number[] = [];
        for (const event of result.events) {
          const topic = eventTopic(event.type, event.data);
          if (!topic || !topics.some((subscription) => topicMatches(subscription, topic))) continue;
          if (event.seq !== undefined) seqs.push(event.seq);
          this.send(client, eventMessageText(event));
          replayed += 1;
        }
        this.remember(client, seqs);
      } else {
        this.send(client, JSON.stringify(replayNotice(result, since)));
      }
    } catch (error) {
      this.logger.warn({ err: error, customerId: client.customerId }, 'replaying events to a websocket client failed');
      this.send(client, JSON.stringify({ type: 'error', message: `the replay after seq ${since} failed; subscribe again with the same since` }));
    } finally {
      client.replaying -= 1;
      this.send(client, JSON.stringify({ type: 'subscribed', topics: [...client.topics], replayed, latest_seq: result?.latestSeq ?? null }));
      if (client.replaying === 0) {
        for (const { event, topic } of client.held.splice(0)) if (this.wants(client, event, topic)) this.send(client, eventMessageText(event));
      }
    }
  }

  private remember(client: Client, seqs: number[]): void {
    if (seqs.length === 0) return;
    for (const seq of seqs) client.replayed.add(seq);
    setTimeout(() => {
      for (const seq of seqs) client.replayed.delete(seq);
    }, this.options.replayDedupeMs ?? 60_000).unref();
  }

  private beat(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        this.remove(client);
        client.socket.terminate();
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }

  private remove(client: Client): void {
    if (this.clients.delete(client)) this.counted();
  }

  private counted(): void {
    this.options.onClientCount?.(this.clients.size);
  }
}
