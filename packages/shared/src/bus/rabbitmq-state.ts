import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import type { RpcRequest, RpcResponse } from '../schemas/envelopes.ts';

/* The RabbitMQ bus's bookkeeping (rabbitmq-bus.ts). */

/** What exists while connected; replaced after every reconnect. */
export interface Live {
  model: ChannelModel;
  /** Confirm channel for events. */
  publish: ConfirmChannel;
  /** Channel for requests: it consumes direct reply-to and receives returned (unroutable) requests. */
  requests: Channel;
  exchanges: Set<string>;
}

export interface PendingRequest {
  service: string;
  request: RpcRequest;
  resolve(reply: RpcResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** A consumer that must be set up again on every new connection. */
export interface ManagedConsumer {
  description: string;
  attach(model: ChannelModel): Promise<void>;
}
