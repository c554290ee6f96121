import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage, type RecoveringChannelModel } from 'amqplib';
import { appError } from '../errors/app-error.ts';
import type { Logger } from '../logging/create-logger.ts';
import { eventEnvelopeSchema, type EventEnvelope, type RpcRequest, type RpcResponse } from '../schemas/envelopes.ts';
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
import { deliverEvent, deliverRequest, InFlight } from './rabbitmq-delivery.ts';
import type { Live, ManagedConsumer, PendingRequest } from './rabbitmq-state.ts';
import { reasonReply, timeoutError } from './replies.ts';

const directReplyTo = 'amq.rabbitmq.reply-to';
const defaultTimeoutMs = 3000;

export interface RabbitMqBusOptions {
  url: string;
  logger: Logger;
  /** How long publish() waits for a connection while the broker is away (default 10 s). */
  publishTimeoutMs?: number;
  /** Connection attempts at start before giving up (default 5, about 3 s in all). */
  initialRetries?: number;
  /** Longest pause between reconnect attempts (default 5 s). */
  maxReconnectDelayMs?: number;
  /**
   * Prefix for every queue and exchange (`<namespace>.ai-manager.request`), so several
   * deployments or test runs can share one broker without taking each other's messages.
   */
  namespace?: string;
}

/**
 * Connects to RabbitMQ and returns a Bus. Reconnects with backoff when the connection
 * drops and then declares every queue, binding and consumer again, so servers and
 * subscriptions survive a broker restart. Rejects when the broker cannot be reached at
 * start.
 */
export async function createRabbitMqBus(options: RabbitMqBusOptions): Promise<Bus> {
  const bus = new RabbitMqBus(options);
  await bus.connect();
  return bus;
}

class RabbitMqBus implements Bus {
  private connection: RecoveringChannelModel | undefined;
  private live: Live | undefined;
  private liveWaiters: (() => void)[] = [];
  private closed = false;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly consumers = new Set<ManagedConsumer>();
  private readonly logger: Logger;

  constructor(private readonly options: RabbitMqBusOptions) {
    this.logger = options.logger.child({ component: 'rabbitmq-bus' });
  }

  async connect(): Promise<void> {
    const connection = await amqp.connect(this.options.url, {
      // Without it, Nagle's algorithm and delayed ACKs add ~40 ms to a small request/reply.
      noDelay: true,
      recovery: {
        initialDelay: 100,
        maxDelay: this.options.maxReconnectDelayMs ?? 5000,
        initialMaxRetries: this.options.initialRetries ?? 5,
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.connection = connection;
    connection.on('disconnect', (error: Error) => this.onDisconnect(error));
    connection.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) =>
      this.logger.warn({ attempt: info.attempt, delayMs: info.delay, reason: info.error.message }, 'rabbitmq reconnect scheduled'),
    );
    connection.on('connect-failed', (error: Error) => this.logger.warn({ reason: error.message }, 'rabbitmq connect attempt failed'));
    connection.on('reconnect-failed', (error: Error) => this.logger.error({ reason: error.message }, 'rabbitmq reconnecting gave up'));
    connection.on('error', (error: Error) => this.logger.warn({ reason: error.message }, 'rabbitmq connection error'));
    try {
      await connection.waitForConnect();
    } catch (error) {
      this.closed = true;
      await connection.close().catch(() => undefined);
      throw new Error(`Cannot connect to RabbitMQ at ${redact(this.options.url)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Runs on every (re)connection, before the connection counts as up. */
  private async setup(model: ChannelModel): Promise<void> {
    const publish = await model.createConfirmChannel();
    const requests = await model.createChannel();
    for (const channel of [publish, requests]) this.watchChannel(model, channel, 'bus');
    requests.on('return', (message: ConsumeMessage) => {
      const correlationId = String(message.properties.correlationId ?? '');
      const pending = this.pending.get(correlationId);
      if (!pending) return;
      this.settle(correlationId);
      const queue = message.fields.routingKey;
      pending.resolve(reasonReply('ROUTE_NOT_FOUND', pending.request.request_id ?? correlationId, `Nothing serves the queue ${queue}.`));
    });
    await requests.consume(directReplyTo, (message) => message && this.onReply(message), { noAck: true });
    for (const consumer of this.consumers) {
      try {
        await consumer.attach(model);
      } catch (error) {
        this.logger.error({ err: error, consumer: consumer.description }, 'could not restore a consumer after reconnecting');
      }
    }
    const wasConnected = this.live !== undefined;
    this.live = { model, publish, requests, exchanges: new Set() };
    this.logger.info({ consumers: this.consumers.size, reconnect: !wasConnected && this.everConnected }, 'rabbitmq connected');
    this.everConnected = true;
    for (const resolve of this.liveWaiters.splice(0)) resolve();
  }

  private everConnected = false;
  /** Channels closed on purpose (a consumer stopping), which must not trigger a reconnect. */
  private readonly closingChannels = new WeakSet<Channel>();

  private async closeChannel(channel: Channel | undefined): Promise<void> {
    if (!channel) return;
    this.closingChannels.add(channel);
    await channel.close().catch(() => undefined);
  }

  /** A channel closing on its own (a broker-side error) makes the whole connection start over. */
  private watchChannel(model: ChannelModel, channel: Channel, description: string): void {
    channel.on('error', (error: Error) => this.logger.warn({ reason: error.message, channel: description }, 'rabbitmq channel error'));
    channel.on('close', () => {
      if (this.closed || this.live?.model !== model || this.closingChannels.has(channel)) return;
      this.logger.warn({ channel: description }, 'rabbitmq channel closed unexpectedly; reconnecting');
      model.close().catch(() => undefined);
    });
  }

  private onDisconnect(error: Error): void {
    this.live = undefined;
    this.logger.warn({ reason: error.message, pendingRequests: this.pending.size }, 'rabbitmq connection lost');
    // Replies come over the connection's direct reply-to, so in-flight requests cannot get one now.
    for (const [correlationId, pending] of [...this.pending]) {
      this.settle(correlationId);
      pending.reject(appError('SERVICE_UNAVAILABLE', `The bus connection was lost while waiting for ${pending.service}.`));
    }
  }

  private waitForLive(timeoutMs: number): Promise<Live | undefined> {
    if (this.live) return Promise.resolve(this.live);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const onLive = () => {
        clearTimeout(timer);
        resolve(this.live);
      };
      const timer = setTimeout(() => {
        this.liveWaiters = this.liveWaiters.filter((waiter) => waiter !== onLive);
        resolve(undefined);
      }, timeoutMs);
      this.liveWaiters.push(onLive);
    });
  }

  async request(service: string, request: RpcRequest, options: RequestOptions = {}): Promise<RpcResponse> {
    this.assertOpen();
    const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
    const started = Date.now();
    const live = await this.waitForLive(timeoutMs);
    if (!live) throw appError('SERVICE_UNAVAILABLE', `Not connected to the message bus; ${service} cannot be reached.`);
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const correlationId = randomUUID();
    const requestId = request.request_id ?? correlationId;
    const queue = this.name(options.instanceId ? busNames.instanceQueue(service, options.instanceId) : busNames.requestQueue(service));
    const body = Buffer.from(JSON.stringify({ ...request, request_id: requestId }));

    return new Promise<RpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(correlationId)) return;
        reject(timeoutError(service, request, timeoutMs));
      }, remaining);
      this.pending.set(correlationId, { service, request, resolve, reject, timer });
      try {
        live.requests.sendToQueue(queue, body, {
          correlationId,
          replyTo: directReplyTo,
          mandatory: true,
          // The request is dropped from the queue when nobody would wait for its answer.
          expiration: String(remaining),
          contentType: 'application/json',
        });
      } catch (error) {
        this.settle(correlationId);
        reject(appError('SERVICE_UNAVAILABLE', `Could not send the request to ${service}: ${(error as Error).message}`));
      }
    });
  }

  private onReply(message: ConsumeMessage): void {
    const correlationId = String(message.properties.correlationId ?? '');
    const pending = this.pending.get(correlationId);
    if (!pending) return; // Timed out already.
    this.settle(correlationId);
    try {
      const reply = JSON.parse(message.content.toString('utf8')) as RpcResponse;
      pending.resolve(reply);
    } catch {
      pending.reject(appError('INTERNAL', `${pending.service} sent a reply that is not JSON.`));
    }
  }

  private settle(correlationId: string): void {
    const pending = this.pending.get(correlationId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(correlationId);
  }

  async serve(service: string, handler: RpcHandler, options: ServeOptions = {}): Promise<Subscription> {
    this.assertOpen();
    const queues: { name: string; durable: boolean }[] = [];
    if (options.shared ?? true) queues.push({ name: this.name(busNames.requestQueue(service)), durable: true });
    if (options.instanceId) queues.push({ name: this.name(busNames.instanceQueue(service, options.instanceId)), durable: false });
    const concurrency = options.concurrency ?? 32;
    const inFlight = new InFlight();
    let channel: Channel | undefined;
    const consumerTags: string[] = [];

    const consumer: ManagedConsumer = {
      description: `serve ${queues.map((queue) => queue.name).join(', ')}`,
      attach: async (model) => {
        const opened = await model.createChannel();
        this.watchChannel(model, opened, consumer.description);
        await opened.prefetch(concurrency);
        consumerTags.length = 0;
        for (const queue of queues) {
          await opened.assertQueue(queue.name, queue.durable ? { durable: true } : { durable: false, autoDelete: true });
          const { consumerTag } = await opened.consume(queue.name, (message) => {
            if (!message) return;
            inFlight.track(deliverRequest(opened, handler, message, this.logger));
          });
          consumerTags.push(consumerTag);
        }
        channel = opened;
      },
    };
    await this.attachNow(consumer);
    return {
      close: async () => {
        if (!this.consumers.delete(consumer)) return;
        const current = channel;
        for (const tag of consumerTags) await current?.cancel(tag).catch(() => undefined);
        await inFlight.idle();
        await this.closeChannel(current);
      },
    };
  }

  async publish(publisher: string, event: Omit<EventEnvelope, 'publisher'>): Promise<void> {
    this.assertOpen();
    const envelope = eventEnvelopeSchema.parse({ ...event, publisher });
    const exchange = this.name(busNames.eventExchange(publisher));
    const body = Buffer.from(JSON.stringify(envelope));
    const deadline = Date.now() + (this.options.publishTimeoutMs ?? 10_000);
    let lastError: unknown;
    // At least once: a publish the broker did not confirm is sent again after reconnecting.
    while (Date.now() < deadline && !this.closed) {
      const live = await this.waitForLive(deadline - Date.now());
      if (!live) break;
      try {
        if (!live.exchanges.has(exchange)) {
          await live.publish.assertExchange(exchange, 'topic', { durable: true });
          live.exchanges.add(exchange);
        }
        await new Promise<void>((resolve, reject) => {
          live.publish.publish(
            exchange,
            envelope.type,
            body,
            { persistent: true, contentType: 'application/json', type: envelope.type },
            (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve()),
          );
        });
        return;
      } catch (error) {
        lastError = error;
        if (this.live === live) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw appError(
      'SERVICE_UNAVAILABLE',
      `The event ${envelope.type} could not be published: ${lastError instanceof Error ? lastError.message : 'not connected to the message bus'}.`,
    );
  }

  async subscribe(
    publisher: string,
    eventTypes: string[],
    handler: EventHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    this.assertOpen();
    const exchange = this.name(busNames.eventExchange(publisher));
    const temporary = options.temporary ?? false;
    const queue = this.name(options.queue);
    const deadQueue = `${queue}.dead`;
    const maxAttempts = options.maxAttempts ?? 5;
    const inFlight = new InFlight();
    let channel: Channel | undefined;
    let consumerTag: string | undefined;

    const consumer: ManagedConsumer = {
      description: `subscribe ${queue} to ${exchange} [${eventTypes.join(', ')}]`,
      attach: async (model) => {
        const opened = await model.createChannel();
        this.watchChannel(model, opened, consumer.description);
        await opened.prefetch(options.concurrency ?? 16);
        await opened.assertExchange(exchange, 'topic', { durable: true });
        const single = options.singleActiveConsumer ? { arguments: { 'x-single-active-consumer': true } } : {};
        await opened.assertQueue(queue, temporary ? { durable: false, autoDelete: true, ...single } : { durable: true, ...single });
        if (!temporary) await opened.assertQueue(deadQueue, { durable: true });
        for (const type of eventTypes) await opened.bindQueue(queue, exchange, type);
        const started = await opened.consume(queue, (message) => {
          if (!message) return;
          inFlight.track(deliverEvent(opened, { queue, deadQueue, temporary, maxAttempts }, handler, message, this.logger));
        });
        consumerTag = started.consumerTag;
        channel = opened;
      },
    };
    await this.attachNow(consumer);
    return {
      close: async () => {
        if (!this.consumers.delete(consumer)) return;
        const current = channel;
        if (consumerTag) await current?.cancel(consumerTag).catch(() => undefined);
        await inFlight.idle();
        await this.closeChannel(current);
      },
    };
  }

  /** Sets a consumer up on the current connection and keeps it for later reconnects. */
  private async attachNow(consumer: ManagedConsumer): Promise<void> {
    const live = await this.waitForLive(this.options.publishTimeoutMs ?? 10_000);
    if (!live) throw appError('SERVICE_UNAVAILABLE', 'Not connected to the message bus.');
    await consumer.attach(live.model);
    this.consumers.add(consumer);
  }

  isHealthy(): boolean {
    return !this.closed && this.live !== undefined;
  }

  /** A queue or exchange name within this bus's namespace. */
  private name(base: string): string {
    return this.options.namespace ? `${this.options.namespace}.${base}` : base;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [correlationId, pending] of [...this.pending]) {
      this.settle(correlationId);
      pending.reject(appError('SERVICE_UNAVAILABLE', 'The bus was closed before the reply arrived.'));
    }
    for (const resolve of this.liveWaiters.splice(0)) resolve();
    this.consumers.clear();
    this.live = undefined;
    await this.connection?.close().catch(() => undefined);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('The bus is closed.');
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
