import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logging/create-logger.ts';
import { findInfrastructure } from '../testing/test-infrastructure.ts';
import type { Bus } from './bus.ts';
import { eventually } from '../testing/wait.ts';
import { createRabbitMqBus } from './rabbitmq-bus.ts';

// Restarts the machine's RabbitMQ, so this runs in the `alone` project, by itself.
const infrastructure = await findInfrastructure('rabbitmq');
const canRestart = infrastructure.available && hasRabbitmqctl();

function hasRabbitmqctl(): boolean {
  try {
    execFileSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'ignore', timeout: 60_000 });
}

describe.skipIf(!canRestart)('rabbitmq bus across a broker restart', () => {
  const service = `restart-${randomUUID().slice(0, 8)}`;
  const queue = `restart-events-${randomUUID().slice(0, 8)}`;
  const buses: Bus[] = [];

  afterAll(async () => {
    // Whatever happened, leave the broker running for everyone else.
    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    await Promise.all(buses.map((bus) => bus.close()));
    const connection = await amqp.connect(infrastructure.url);
    const channel = await connection.createChannel();
    for (const name of [`${service}.request`, queue, `${queue}.dead`]) await channel.deleteQueue(name);
    await channel.deleteExchange(`${service}.event`);
    await connection.close();
  }, 120_000);

  it('serves requests and delivers events again after RabbitMQ restarts', async () => {
    const server = await createRabbitMqBus({ url: infrastructure.url, logger: silentLogger(), maxReconnectDelayMs: 500 });
    const client = await createRabbitMqBus({ url: infrastructure.url, logger: silentLogger(), maxReconnectDelayMs: 500 });
    buses.push(server, client);
    let served = 0;
    await server.serve(service, async () => ({ status_code: 200, data: { served: ++served } }));
    const events: unknown[] = [];
    await server.subscribe(service, ['#'], async (event) => void events.push(event.data), { queue });

    expect((await client.request(service, { uri: '/before', method: 'GET' })).status_code).toBe(200);
    await client.publish(service, { type: 'before_restart', data: 1 });
    await eventually(() => events.length === 1, 'the event before the restart');

    rabbitmqctl('stop_app');
    await eventually(() => !server.isHealthy() && !client.isHealthy(), 'both buses to notice the broker is gone', 30_000);
    // While the broker is away a request fails clearly instead of hanging.
    const during = await client.request(service, { uri: '/during', method: 'GET' }, { timeoutMs: 300 }).catch((error: unknown) => error);
    expect(during).toMatchObject({ reason: 'SERVICE_UNAVAILABLE' });

    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    // The request waits for the reconnect within its own timeout; the server's queue and
    // consumer were declared again on reconnect.
    const after = await client.request(service, { uri: '/after', method: 'GET' }, { timeoutMs: 30_000 });
    expect(after.status_code).toBe(200);
    await eventually(() => server.isHealthy(), 'the server to reconnect', 30_000);
    await client.publish(service, { type: 'after_restart', data: 2 });
    await eventually(() => events.includes(2), 'the event after the restart', 30_000);
  }, 180_000);
});
