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
}

/**
 * The ARI events WebSocket (`/ari/events?app=<app>`) with reconnect: when the socket drops
 * or Asterisk restarts it connects again with backoff (100 ms doubling to `maxDelayMs`)
 * and calls `onConnected(true)` so the caller can reconcile. Events are handled one at a
 * time, in order.
 */
export class AriEventStream {
  private socket: WebSocket | undefined;
  private closed = false;
  private attempt = 0;
  private everConnected = false;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private connectedWaiters: (() => void)[] = [];

  constructor(private readonly options: AriEventStreamOptions) {}

  /** Whether the events socket is open. */
  isConnected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Starts connecting; resolves once connected the first time (or rejects after `timeoutMs`). */
  async start(timeoutMs = 10_000): Promise<void> {
    this.connect();
    if (this.isConnected()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ARI events did not connect within ${timeoutMs} ms (${this.options.connection.url})`)), timeoutMs);
      this.connectedWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Drops the socket as a network failure would (tests), which triggers a reconnect. */
  dropForTest(): void {
    this.socket?.terminate();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
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
    socket.on('open', () => {
      const reconnect = this.everConnected;
      this.everConnected = true;
      this.attempt = 0;
      logger.info({ app: connection.app, reconnect }, 'ari events connected');
      this.enqueue(() => this.options.onConnected(reconnect));
      for (const resolve of this.connectedWaiters.splice(0)) resolve();
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
    socket.on('error', (error) => logger.warn({ reason: error.message }, 'ari events socket error'));
    socket.on('close', () => {
      if (this.socket !== socket || this.closed) return;
      this.socket = undefined;
      this.attempt++;
      const delay = Math.min(this.options.maxDelayMs ?? 5000, 100 * 2 ** (this.attempt - 1));
      logger.warn({ attempt: this.attempt, delayMs: delay }, 'ari events socket closed; reconnecting');
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'handling an ari event failed');
    });
  }
}
