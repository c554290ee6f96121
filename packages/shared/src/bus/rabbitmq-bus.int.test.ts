import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/create-logger.ts';
import { findInfrastructure } from '../testing/test-infrastructure.ts';
import { describeBusContract } from './bus-contract.ts';
import { createRabbitMqBus } from './rabbitmq-bus.ts';

const infrastructure = await findInfrastructure('rabbitmq');

describeBusContract('rabbitmq', {
  newBus: async () => (infrastructure.available ? createRabbitMqBus({ url: infrastructure.url, logger: silentLogger() }) : undefined),
  cleanup: async ({ queues, exchanges }) => {
    if (!infrastructure.available) return;
    // The suite's durable queues and exchanges would otherwise pile up in the broker.
    const connection = await amqp.connect(infrastructure.url);
    const channel = await connection.createChannel();
    for (const queue of queues) await channel.deleteQueue(queue);
    for (const exchange of exchanges) await channel.deleteExchange(exchange);
    await connection.close();
    await infrastructure.stop();
  },
});

describe.skipIf(!infrastructure.available)('rabbitmq bus namespaces', () => {
  it('keeps the queues of different namespaces apart', async () => {
    const service = `ns-${randomUUID().slice(0, 8)}`;
    const first = await createRabbitMqBus({ url: infrastructure.url, logger: silentLogger(), namespace: 'test-ns-a' });
    const second = await createRabbitMqBus({ url: infrastructure.url, logger: silentLogger(), namespace: 'test-ns-b' });
    try {
      await first.serve(service, async () => ({ status_code: 200, data: 'a' }));
      expect((await first.request(service, { uri: '/', method: 'GET' })).data).toBe('a');
      expect((await second.request(service, { uri: '/', method: 'GET' })).status_code).toBe(404);
    } finally {
      await first.close();
      await second.close();
      const connection = await amqp.connect(infrastructure.url);
      const channel = await connection.createChannel();
      await channel.deleteQueue(`test-ns-a.${service}.request`);
      await connection.close();
    }
  });
});
