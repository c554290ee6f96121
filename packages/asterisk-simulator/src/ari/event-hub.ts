import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { asteriskTimestamp } from '../model/time.ts';

/** An ARI event before the hub adds timestamp, asterisk_id and application. */
export interface AriEventBody {
  type: string;
  [field: string]: unknown;
}

/** An event as delivered to one application. */
export interface AriEvent extends AriEventBody {
  timestamp: string;
  asterisk_id: string;
  application: string;
}

interface Subscription {
  socket: WebSocket;
  subscribeAll: boolean;
}

/**
 * Stasis applications and their event WebSockets. As in Asterisk, an application is served
 * by one socket at a time: a second connection for the same name takes it over and the old
 * socket gets ApplicationReplaced.
 */
export class EventHub extends EventEmitter<{ event: [AriEvent] }> {
  private readonly applications = new Map<string, Subscription>();

  constructor(private readonly asteriskId: string) {
    super();
  }

  register(socket: WebSocket, apps: string[], subscribeAll: boolean): void {
    for (const app of apps) {
      const previous = this.applications.get(app);
      if (previous && previous.socket !== socket) {
        this.sendTo(previous.socket, { type: 'ApplicationReplaced' }, app);
      }
      this.applications.set(app, { socket, subscribeAll });
    }
    socket.on('close', () => {
      for (const app of apps) {
        if (this.applications.get(app)?.socket === socket) this.applications.delete(app);
      }
    });
  }

  isRegistered(app: string): boolean {
    return this.applications.has(app);
  }

  applicationNames(): string[] {
    return [...this.applications.keys()];
  }

  /** Sends an event to each named application and to every application subscribed to all. */
  publish(apps: Iterable<string>, body: AriEventBody): void {
    const targets = new Set(apps);
    for (const [app, subscription] of this.applications) {
      if (subscription.subscribeAll) targets.add(app);
    }
    const timestamp = asteriskTimestamp();
    for (const app of targets) {
      const event: AriEvent = { ...body, timestamp, asterisk_id: this.asteriskId, application: app };
      this.emit('event', event);
      const subscription = this.applications.get(app);
      if (subscription) this.write(subscription.socket, event);
    }
  }

  closeAll(): void {
    for (const { socket } of this.applications.values()) socket.terminate();
    this.applications.clear();
  }

  private sendTo(socket: WebSocket, body: AriEventBody, app: string): void {
    this.write(socket, { ...body, timestamp: asteriskTimestamp(), asterisk_id: this.asteriskId, application: app });
  }

  private write(socket: WebSocket, event: AriEvent): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(event));
  }
}
