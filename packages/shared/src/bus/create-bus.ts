import type { Logger } from '../logging/create-logger.ts';
import type { Bus } from './bus.ts';
import { createInProcessBus } from './in-process-bus.ts';
import { createRabbitMqBus } from './rabbitmq-bus.ts';

export interface CreateBusOptions {
  /** RabbitMQ URL; absent means the in-process bus (one-process mode). */
  rabbitmqUrl?: string;
  /** Prefix of every RabbitMQ queue and exchange name (see RabbitMqBusOptions.namespace). */
  namespace?: string;
  logger: Logger;
}

/** The bus a process uses: RabbitMQ when a URL is given, else the in-process one. */
export async function createBus(options: CreateBusOptions): Promise<Bus> {
  if (options.rabbitmqUrl) return createRabbitMqBus({ url: options.rabbitmqUrl, logger: options.logger, namespace: options.namespace });
  return createInProcessBus({ logger: options.logger });
}
