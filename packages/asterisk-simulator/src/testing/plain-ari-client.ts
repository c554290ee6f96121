import { WebSocket } from 'ws';

/** An ARI event as received on the events WebSocket. */
export interface ReceivedEvent {
  type: string;
  application: string;
  timestamp: string;
  [field: string]: unknown;
}

/**
 * A deliberately plain ARI client for the simulator's own tests: fetch for REST, `ws` for
 * events. It knows nothing of the simulator's internals, so the tests drive it exactly as an
 * application would drive a real Asterisk.
 */
export class PlainAriClient {
  constructor(
    readonly baseUrl: string,
    private readonly user = 'asterisk',
    private readonly password = 'asterisk',
  ) {}

  // Test code reads response fields freely; a real client would validate them.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async request(method: string, path: string, query: Record<string, string | number | boolean> = {}, body?: unknown): Promise<{ status: number; body: any }> {
    const url = new URL(`${this.baseUrl}/ari${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  }

  async events(app: string, extra = ''): Promise<EventStream> {
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/ari/events?app=${app}&api_key=${this.user}:${this.password}${extra}`);
    const stream = new EventStream(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return stream;
  }
}

/** Buffers received events; `next` consumes them in order. */
export class EventStream {
  readonly all: ReceivedEvent[] = [];
  private cursor = 0;
  private wake: (() => void) | undefined;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.all.push(JSON.parse(String(data)) as ReceivedEvent);
      this.wake?.();
    });
  }

  /** Waits for the next event of `type` (skipping others) that matches `where`. */
  async next(type: string, where: (event: ReceivedEvent) => boolean = () => true, timeoutMs = 3000): Promise<ReceivedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.all.length) {
        const event = this.all[this.cursor] as ReceivedEvent;
        this.cursor += 1;
        if (event.type === type && where(event)) return event;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} event within ${timeoutMs} ms; got ${this.all.map((event) => event.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Types of the events about one channel, in arrival order. */
  typesFor(channelId: string): string[] {
    return this.all
      .filter((event) => (event.channel as { id?: string } | undefined)?.id === channelId || (event.peer as { id?: string } | undefined)?.id === channelId)
      .map((event) => event.type);
  }

  close(): void {
    this.socket.close();
  }
}
