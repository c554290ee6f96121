import type { EventEnvelope, RpcRequest, RpcResponse } from '../schemas/envelopes.ts';

/** Serves one RPC request. Throwing is allowed: the server turns it into an error reply. */
export type RpcHandler = (request: RpcRequest) => Promise<RpcResponse>;

/** Handles one event. Throwing means "not processed": the event is redelivered (or dead-lettered). */
export type EventHandler = (event: EventEnvelope) => Promise<void>;

export interface RequestOptions {
  /** How long to wait for the reply; default 3000 ms. The request also expires in the queue after this. */
  timeoutMs?: number;
  /** Send to one instance's own queue `<service>.request.<instanceId>` instead of the shared one. */
  instanceId?: string;
}

export interface ServeOptions {
  /**
   * This process's instance id. When set, the server also consumes the per-instance,
   * auto-delete queue `<service>.request.<instanceId>` (follow-ups for work it owns).
   */
  instanceId?: string;
  /** Whether to consume the shared durable queue `<service>.request` (default true). */
  shared?: boolean;
  /** Requests handled at once by this server (default 32). */
  concurrency?: number;
}

export interface SubscribeOptions {
  /**
   * Name of the durable subscriber queue. Events published while no consumer is attached
   * wait in it. Two processes subscribing with the same queue name share the work;
   * different names each get every event (fan-out).
   */
  queue: string;
  /** Events handled at once (default 16). */
  concurrency?: number;
  /**
   * A queue for this process only, deleted when its consumer goes (events published while
   * it is gone are not kept). For fan-out to what a process holds, such as WebSocket
   * clients: give each process its own name.
   */
  temporary?: boolean;
  /**
   * Deliveries of one event before it is parked in the dead-letter queue `<queue>.dead`
   * (default 5). A handler that throws gets the event again after a short delay.
   */
  maxAttempts?: number;
  /**
   * Of the processes sharing the queue, one consumes at a time (the others stand by and take
   * over when it goes): with `concurrency: 1`, events are handled in the order published.
   */
  singleActiveConsumer?: boolean;
}

/** A running consumer; `close()` stops consuming (the durable queue stays). */
export interface Subscription {
  close(): Promise<void>;
}

/**
 * The message bus between services: RPC with replies, and events on a per-service topic
 * exchange. Two implementations (RabbitMQ and in-process) pass the same contract suite.
 *
 * RPC failures are replies, not exceptions, except transport failures: a request nobody
 * can receive resolves to a 404 reply (`ROUTE_NOT_FOUND`), and a request without a reply
 * in time rejects with an AppError `RPC_TIMEOUT`.
 */
export interface Bus {
  /** Sends a request to `<service>.request` (or an instance queue) and waits for the reply. */
  request(service: string, request: RpcRequest, options?: RequestOptions): Promise<RpcResponse>;
  /** Starts serving requests addressed to `service`. */
  serve(service: string, handler: RpcHandler, options?: ServeOptions): Promise<Subscription>;
  /**
   * Publishes an event on `<publisher>.event` with routing key `event.type`; resolves once
   * the broker has confirmed it.
   */
  publish(publisher: string, event: Omit<EventEnvelope, 'publisher'>): Promise<void>;
  /**
   * Subscribes to events of `publisher` whose type matches one of `eventTypes` (AMQP topic
   * patterns: `*` one word, `#` any; event types have one word, so `#` means all).
   */
  subscribe(
    publisher: string,
    eventTypes: string[],
    handler: EventHandler,
    options: SubscribeOptions,
  ): Promise<Subscription>;
  /** Whether the bus can currently carry messages (for /readyz). */
  isHealthy(): boolean;
  /** Stops every consumer and closes connections; pending requests reject. */
  close(): Promise<void>;
}

/** Queue and exchange names, in one place so both implementations and docs agree. */
export const busNames = {
  requestQueue: (service: string) => `${service}.request`,
  instanceQueue: (service: string, instanceId: string) => `${service}.request.${instanceId}`,
  eventExchange: (service: string) => `${service}.event`,
};
