import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '../logging/create-logger.ts';
import type { EventEnvelope, RpcRequest, RpcResponse } from '../schemas/envelopes.ts';
import {
  busNames,
  type Bus,
  type EventHandler,
  type RequestOptions,
  type RpcHandler,
  type ServeOptions,
  type SubscribeOptions,
  type Subscription,
} from './bus.ts';
import { reasonReply, runRpcHandler, timeoutError, topicMatches } from './replies.ts';

const defaultTimeoutMs = 3000;
const redeliveryDelayMs = 50;

interface Server {
  handler: RpcHandler;
  limiter: Limiter;
}

interface QueuedEvent {
  event: EventEnvelope;
  attempt: number;
}

interface Consumer {
  handler: EventHandler;
  limiter: Limiter;
  maxAttempts: number;
}

interface EventQueue {
  name: string;
  temporary: boolean;
  /** `<publisher>` -> routing patterns bound to this queue. */
  bindings: Map<string, Set<string>>;
  messages: QueuedEvent[];
  consumers: Consumer[];
  next: number;
  /** Only the first consumer takes events (SubscribeOptions.singleActiveConsumer). */
  singleActive: boolean;
}

/**
 * What a broker keeps between "processes": request queues, durable event queues and their
 * bindings. Several in-process buses on one broker behave like several processes on one
 * RabbitMQ, which is how the contract suite checks durable delivery across a restart.
 */
export class InProcessBroker {
  readonly requestQueues = new Map<string, Server[]>();
  readonly eventQueues = new Map<string, EventQueue>();
  readonly deadLetters: { queue: string; event: EventEnvelope; error: string }[] = [];
  private readonly roundRobin = new Map<string, number>();

  pickServer(queue: string): Server | undefined {
    const servers = this.requestQueues.get(queue);
    if (!servers || servers.length === 0) return undefined;
    const index = (this.roundRobin.get(queue) ?? 0) % servers.length;
    this.roundRobin.set(queue, index + 1);
    return servers[index];
  }
}

export interface InProcessBusOptions {
  /** Share queues with other buses (default: a new broker of its own). */
  broker?: InProcessBroker;
  logger?: Logger;
}

/** A Bus without a broker: same semantics as the RabbitMQ one, inside one Node process. */
export function createInProcessBus(options: InProcessBusOptions = {}): Bus {
  return new InProcessBus(options.broker ?? new InProcessBroker(), options.logger ?? silentLogger());
}

class InProcessBus implements Bus {
  private closed = false;
  private readonly pending = new Set<{ reject(error: Error): void }>();
  private readonly owned = new Set<Subscription>();

  constructor(
    private readonly broker: InProcessBroker,
    private readonly logger: Logger,
  ) {}

  async request(service: string, request: RpcRequest, options: RequestOptions = {}): Promise<RpcResponse> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    const requestId = request.request_id ?? randomUUID();
    const queue = options.instanceId
      ? busNames.instanceQueue(service, options.instanceId)
      : busNames.requestQueue(service);
    const server = this.broker.pickServer(queue);
    if (!server) return reasonReply('ROUTE_NOT_FOUND', requestId, `Nothing serves the queue ${queue}.`);

    // A copy through JSON, as a real transport would make: no shared objects between sides.
    const wire: unknown = JSON.parse(JSON.stringify({ ...request, request_id: requestId }));
    return new Promise<RpcResponse>((resolve, reject) => {
      const entry = { reject };
      this.pending.add(entry);
      const timer = setTimeout(() => {
        this.pending.delete(entry);
        reject(timeoutError(service, request, timeoutMs));
      }, timeoutMs);
      void server.limiter.run(async () => {
        const reply = await runRpcHandler(server.handler, wire, this.logger);
        clearTimeout(timer);
        if (!this.pending.delete(entry)) return;
        resolve(JSON.parse(JSON.stringify(reply)) as RpcResponse);
      });
    });
  }

  async serve(service: string, handler: RpcHandler, options: ServeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    const server: Server = { handler, limiter: new Limiter(options.concurrency ?? 32) };
    const queues: string[] = [];
    if (options.shared ?? true) queues.push(busNames.requestQueue(service));
    if (options.instanceId) queues.push(busNames.instanceQueue(service, options.instanceId));
    for (const queue of queues) {
      const servers = this.broker.requestQueues.get(queue) ?? [];
      servers.push(server);
      this.broker.requestQueues.set(queue, servers);
    }
    const subscription: Subscription = {
      close: async () => {
        if (!this.owned.delete(subscription)) return;
        for (const queue of queues) {
          const servers = (this.broker.requestQueues.get(queue) ?? []).filter((entry) => entry !== server);
          if (servers.length > 0) this.broker.requestQueues.set(queue, servers);
          else this.broker.requestQueues.delete(queue);
        }
        await server.limiter.idle();
      },
    };
    this.owned.add(subscription);
    return subscription;
  }

  async publish(publisher: string, event: Omit<EventEnvelope, 'publisher'>): Promise<void> {
    this.assertOpen();
    const envelope = JSON.parse(JSON.stringify({ ...event, publisher })) as EventEnvelope;
    for (const queue of this.broker.eventQueues.values()) {
      const patterns = queue.bindings.get(publisher);
      if (!patterns || ![...patterns].some((pattern) => topicMatches(pattern, envelope.type))) continue;
      queue.messages.push({ event: envelope, attempt: 1 });
      setImmediate(() => this.dispatch(queue));
    }
  }

  async subscribe(
    publisher: string,
    eventTypes: string[],
    handler: EventHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.assertOpen();
    let queue = this.broker.eventQueues.get(options.queue);
    if (!queue) {
      queue = { name: options.queue, temporary: options.temporary ?? false, bindings: new Map(), messages: [], consumers: [], next: 0, singleActive: options.singleActiveConsumer ?? false };
      this.broker.eventQueues.set(options.queue, queue);
    }
    const patterns = queue.bindings.get(publisher) ?? new Set<string>();
    for (const type of eventTypes) patterns.add(type);
    queue.bindings.set(publisher, patterns);
    const consumer: Consumer = {
      handler,
      limiter: new Limiter(options.concurrency ?? 16),
      maxAttempts: options.maxAttempts ?? 5,
    };
    queue.consumers.push(consumer);
    const owner = queue;
    setImmediate(() => this.dispatch(owner));

    const subscription: Subscription = {
      close: async () => {
        if (!this.owned.delete(subscription)) return;
        owner.consumers = owner.consumers.filter((entry) => entry !== consumer);
        if (owner.temporary && owner.consumers.length === 0) this.broker.eventQueues.delete(owner.name);
        await consumer.limiter.idle();
      },
    };
    this.owned.add(subscription);
    return subscription;
  }

  isHealthy(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.pending) entry.reject(new Error('The bus was closed before the reply arrived.'));
    this.pending.clear();
    await Promise.all([...this.owned].map((subscription) => subscription.close()));
  }

  /** Hands queued events to consumers with free capacity, round robin. */
  private dispatch(queue: EventQueue): void {
    while (queue.messages.length > 0) {
      const free = (queue.singleActive ? queue.consumers.slice(0, 1) : queue.consumers).filter((consumer) => consumer.limiter.hasCapacity());
      if (free.length === 0) return;
      const consumer = free[queue.next++ % free.length]!;
      const message = queue.messages.shift()!;
      void consumer.limiter.run(async () => {
        try {
          await consumer.handler(message.event);
        } catch (error) {
          this.retry(queue, consumer, message, error);
        }
        setImmediate(() => this.dispatch(queue));
      });
    }
  }

  private retry(queue: EventQueue, consumer: Consumer, message: QueuedEvent, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    if (message.attempt >= consumer.maxAttempts) {
      this.broker.deadLetters.push({ queue: queue.name, event: message.event, error: text });
      this.logger.error({ queue: queue.name, type: message.event.type, attempts: message.attempt, err: error }, 'event dead-lettered');
      return;
    }
    this.logger.warn({ queue: queue.name, type: message.event.type, attempt: message.attempt, err: error }, 'event handler failed; redelivering');
    setTimeout(() => {
      queue.messages.push({ event: message.event, attempt: message.attempt + 1 });
      this.dispatch(queue);
    }, redeliveryDelayMs);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The bus is closed.');
  }
}

/** Runs at most `limit` tasks at once and tells when none is running. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  hasCapacity(): boolean {
    return this.running < this.limit;
  }

  async run(task: () => Promise<void>): Promise<void> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
      if (this.running === 0 && this.waiting.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  idle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
