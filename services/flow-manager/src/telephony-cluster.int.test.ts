import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { createDatabase, createRabbitMqBus, silentLogger } from '@avp/shared';
import { createTestPostgresDatabase, findInfrastructure } from '@avp/shared/testing';
import { describeTelephony } from './testing/telephony-suite.ts';

describeTelephony('calls through the Asterisk simulator (PostgreSQL + RabbitMQ)', async () => {
  const postgres = await findInfrastructure('postgres');
  const rabbitmq = await findInfrastructure('rabbitmq');
  if (!postgres.available || !rabbitmq.available) return undefined;
  const test = await createTestPostgresDatabase({ adminUrl: postgres.url });
  const database = await createDatabase(test.options);
  // A namespace of its own: other test files serve ai-manager on the same broker.
  const namespace = `test-${randomUUID().slice(0, 8)}`;
  const bus = await createRabbitMqBus({ url: rabbitmq.url, logger: silentLogger(), namespace });
  return {
    database,
    bus,
    cleanup: async () => {
      await bus.close();
      const connection = await amqp.connect(rabbitmq.url);
      const channel = await connection.createChannel();
      for (const queue of ['ai-manager.request', 'flow-manager.request']) await channel.deleteQueue(`${namespace}.${queue}`);
      await channel.deleteExchange(`${namespace}.flow-manager.event`);
      await connection.close();
      await database.close();
      await test.drop();
      await postgres.stop();
      await rabbitmq.stop();
    },
  };
});
