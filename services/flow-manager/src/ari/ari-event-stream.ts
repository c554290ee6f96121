import type { Logger } from '@avp/shared';
import WebSocket from 'ws';
import type { AriConnection } from './ari-client.ts';
import type { AriEvent } from './ari-types.ts';

export interface AriEventStreamOptions {
  connection: AriConnection;
  logger: Logger;
  onEvent(event: AriEvent): Promise<void>;
  /** After every (re)connection, before events flow: reconcile what changed meanwhile. */
  onConnected(reconnect: boolean): Promise<void>;
  /** Longest pause between reconnect attempts (default 5 s). */
  maxDelayMs?: number;
  /** While ARI stays unreachable, at most one warning this often (default 30 s); the attempts between are logged at debug. */
  failureWarningIntervalMs?: number;
}

/**
 * The ARI events WebSocket (`/ari/events?app=<app>`) with reconnect: when the socket drops,
 * Asterisk restarts or is not up yet when flow-manager starts, it connects again with
 * backoff (100 ms doubling to `maxDelayMs`), for as long as it takes, and calls
 * `onConnected(true)` after a reconnect so the caller can reconcile. Events are handled one
 * at a time, in order.
 */
export class AriEventStream {
  private socket: WebSocket | undefined;
  private closed = false;
  private attempt = 0;
  private everConnected = false;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private connectedWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private lastWarningAt = 0;

  constructor(private readonly options: AriEventStreamOptions) {}

  /** Whether the events socket is open. */
  isConnected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /**
   * Starts connecting; resolves once connected the first time. It never gives up on its own
   * (Asterisk may come up long after flow-manager, and readiness reports the wait); it
   * rejects only when the stream is closed before it connected.
   */
  async start(): Promise<void> {
    this.connect();
    if (this.isConnected()) return;
    await new Promise<void>((resolve, reject) => this.connectedWaiters.push({ resolve, reject }));
  }

  /** Drops the socket as a network failure would (tests), which triggers a reconnect. */
  dropForTest(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const error = new Error(`the ARI events stream closed before it connected (${this.options.connection.url})`);
    for (const waiter of this.connectedWaiters.splice(0)) waiter.reject(error);
    const socket = this.socket;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.close();
        setTimeout(resolve, 1000).unref();
      });
    }
    await this.queue;
  }

  private connect(): void {
    if (this.closed) return;
    const { connection, logger } = this.options;
    const url = new URL(`${connection.url.replace(/^http/, 'ws').replace(/\/$/, '')}/ari/events`);
    url.searchParams.set('app', connection.app);
    url.searchParams.set('api_key', `${connection.user}:${connection.password}`);
    const socket = new WebSocket(url);
    this.socket = socket;
    let opened = false;
    let failure: string | undefined;
    socket.on('open', () => {
      opened = true;
      const reconnect = this.everConnected;
      this.everConnected = true;
      logger.info({ app: connection.app, reconnect, failedAttempts: this.attempt }, 'ari events connected');
      this.attempt = 0;
      this.enqueue(() => this.options.onConnected(reconnect));
      for (const waiter of this.connectedWaiters.splice(0)) waiter.resolve();
    });
    socket.on('message', (data) => {
      let event: AriEvent;
      try {
        event = JSON.parse(data.toString()) as AriEvent;
      } catch {
        logger.warn('ari sent an event that is not JSON');
        return;
      }
      this.enqueue(() => this.options.onEvent(event));
    });
    // Reported with the close that always follows, once per attempt (see logFailure).
    socket.on('error', (error) => (failure = error.message));
    socket.on('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      this.attempt++;
      const delayMs = Math.min(this.options.maxDelayMs ?? 5000, 100 * 2 ** Math.min(this.attempt - 1, 16));
      this.logFailure(opened, failure, delayMs);
      this.timer = setTimeout(() => this.connect(), delayMs);
    });
  }

  /**
   * A warning when the socket drops or the first attempt of an outage fails, then at most one
   * per `failureWarningIntervalMs` while ARI stays away, the attempts between at debug: an
   * Asterisk that is down for an hour costs about 120 warnings instead of 1,400.
   */
  private logFailure(opened: boolean, reason: string | undefined, delayMs: number): void {
    const { logger, connection } = this.options;
    const fields = { ari: connection.url, attempt: this.attempt, delayMs, reason };
    const now = Date.now();
    if (opened) {
      logger.warn(fields, 'ari events socket closed; reconnecting');
    } else if (this.attempt === 1 || now - this.lastWarningAt >= (this.options.failureWarningIntervalMs ?? 30_000)) {
      logger.warn(fields, this.everConnected ? 'ari still unreachable; retrying' : 'ari not reachable yet; retrying');
    } else {
      logger.debug(fields, 'ari connection attempt failed; retrying');
      return;
    }
    this.lastWarningAt = now;
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'handling an ari event failed');
    });
  }
}
