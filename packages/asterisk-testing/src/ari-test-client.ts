import { EventEmitter } from 'node:events';
import { WebSocket } from 'ws';

/** An ARI event as received (fields by type, as in Asterisk's events.json). */
export interface AriTestEvent {
  type: string;
  application?: string;
  timestamp?: string;
  args?: string[];
  channel?: { id: string; name: string; state: string; caller?: { number: string; name: string }; dialplan?: { exten: string; context: string } };
  playback?: { id: string; state: string; media_uri: string };
  digit?: string;
  duration_ms?: number;
  cause?: number;
  cause_txt?: string;
  soft?: boolean;
  [field: string]: unknown;
}

/** ARI answered with an error status. */
export class AriTestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A small ARI client for tests, with nothing of the platform's code in it: fetch for REST
 * (parameters in the query string, `variables` in a JSON body) and one events socket for an
 * application, whose events are emitted as `event` and kept in `received`.
 */
export class AriTestClient extends EventEmitter<{ event: [AriTestEvent] }> {
  readonly received: AriTestEvent[] = [];
  private socket: WebSocket | undefined;
  private readonly authorization: string;

  constructor(
    readonly url: string,
    readonly user: string,
    readonly password: string,
    readonly app: string,
  ) {
    super();
    this.setMaxListeners(200);
    this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  // Test code reads response fields freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request<T = any>(method: string, path: string, query: Record<string, string | number | boolean | undefined> = {}, body?: unknown): Promise<T> {
    const target = new URL(`${this.url}/ari${path}`);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) target.searchParams.set(key, String(value));
    const response = await fetch(target, {
      method,
      headers: { authorization: this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    if (!response.ok) throw new AriTestError(response.status, `${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Connects the events socket of `app`; resolves once it is open. */
  async connect(): Promise<void> {
    const socket = new WebSocket(`${this.url.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(this.app)}&api_key=${encodeURIComponent(`${this.user}:${this.password}`)}`);
    this.socket = socket;
    socket.on('message', (data) => {
      let event: AriTestEvent;
      try {
        event = JSON.parse(String(data)) as AriTestEvent;
      } catch {
        return;
      }
      this.received.push(event);
      this.emit('event', event);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
  }

  /** Waits for an event matching `where` (from now on, or among those already received with `past`). */
  waitFor(where: (event: AriTestEvent) => boolean, timeoutMs = 5000, what = 'an event', options: { past?: boolean } = {}): Promise<AriTestEvent> {
    if (options.past) {
      const found = this.received.find(where);
      if (found) return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', listener);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (event: AriTestEvent) => {
        if (!where(event)) return;
        clearTimeout(timer);
        this.off('event', listener);
        resolve(event);
      };
      this.on('event', listener);
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.close();
      setTimeout(resolve, 1000).unref();
    });
  }
}
