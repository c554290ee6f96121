import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appError, isAppError } from '../errors/app-error.ts';
import type { EventEnvelope } from '../schemas/envelopes.ts';
import { eventually } from '../testing/wait.ts';
import type { Bus, Subscription } from './bus.ts';
import { createRpcRouter, rpcCall, rpcReply } from './rpc-router.ts';

/** How the contract suite gets buses: each call is like a new process on the same broker. */
export interface BusContractTarget {
  /** Returns a new bus; `undefined` skips the suite (no broker reachable outside CI). */
  newBus(): Promise<Bus | undefined>;
  /** Called with every queue and exchange name the suite used, after the suite. */
  cleanup?(names: { queues: string[]; exchanges: string[] }): Promise<void>;
}

/**
 * One behaviour, two implementations: every Bus must pass this suite (RPC replies, errors,
 * timeouts, 404 for unknown services and routes, per-instance routing, event fan-out and
 * work sharing, durable delivery to a subscriber that was away, bounded redelivery).
 */
export function describeBusContract(name: string, target: BusContractTarget): void {
  describe(`bus contract: ${name}`, () => {
    const buses: Bus[] = [];
    const subscriptions: Subscription[] = [];
    const queues = new Set<string>();
    const exchanges = new Set<string>();

    /** A fresh bus, closed after the test; skips the test when no broker is available. */
    async function bus(context: { skip(): void }): Promise<Bus> {
      const created = await target.newBus();
      if (!created) {
        context.skip();
        throw new Error('skipped');
      }
      buses.push(created);
      return created;
    }

    function serviceName(): string {
      const service = `contract-${randomUUID().slice(0, 8)}`;
      queues.add(`${service}.request`);
      exchanges.add(`${service}.event`);
      return service;
    }

    function queueName(label: string): string {
      const queue = `contract-${label}-${randomUUID().slice(0, 8)}`;
      queues.add(queue);
      queues.add(`${queue}.dead`);
      return queue;
    }

    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.close()));
      await Promise.all(buses.splice(0).map((created) => created.close()));
    });

    afterAll(async () => {
      await target.cleanup?.({ queues: [...queues], exchanges: [...exchanges] });
    });

    it('carries a request to a server and its reply back', async (context) => {
      const b = await bus(context);
      const service = serviceName();
      const seen: unknown[] = [];
      subscriptions.push(
        await b.serve(service, async (request) => {
          seen.push(request);
          return { status_code: 201, data: { echo: request.data, uri: request.uri } };
        }),
      );
      const reply = await b.request(service, { uri: '/v1/things?x=1', method: 'POST', data: { a: [1, 'two'] }, request_id: 'req-1' });
      expect(reply).toEqual({ status_code: 201, data: { echo: { a: [1, 'two'] }, uri: '/v1/things?x=1' } });
      expect(seen).toEqual([expect.objectContaining({ uri: '/v1/things?x=1', method: 'POST', request_id: 'req-1' })]);
    });

    it('turns an AppError into its error reply and hides unexpected errors', async (context) => {
      const b = await bus(context);
      const service = serviceName();
      subscriptions.push(
        await b.serve(service, async (request) => {
          if (request.uri === '/conflict') throw appError('RESOURCE_ALREADY_EXISTS', 'That name is taken.');
          throw new Error('database password is hunter2');
        }),
      );
      const conflict = await b.request(service, { uri: '/conflict', method: 'POST', request_id: 'r-2' });
      expect(conflict.status_code).toBe(409);
      expect(conflict.data).toEqual({
        error: { status: 'ALREADY_EXISTS', reason: 'RESOURCE_ALREADY_EXISTS', message: 'That name is taken.', request_id: 'r-2' },
      });
      const crash = await b.request(service, { uri: '/crash', method: 'GET' });
      expect(crash.status_code).toBe(500);
      expect(JSON.stringify(crash.data)).not.toContain('hunter2');
    });

    it('rejects with RPC_TIMEOUT when no reply arrives in time', async (context) => {
      const b = await bus(context);
      const service = serviceName();
      subscriptions.push(
        await b.serve(service, async () => {
          await new Promise((resolve) => setTimeout(resolve, 1500));
          return { status_code: 200 };
        }),
      );
      const error = await b.request(service, { uri: '/slow', method: 'GET' }, { timeoutMs: 200 }).catch((caught: unknown) => caught);
      expect(isAppError(error)).toBe(true);
      expect(error).toMatchObject({ reason: 'RPC_TIMEOUT', status: 'DEADLINE_EXCEEDED' });
      expect((error as Error).message).toContain(service);
    });

    it('answers 404 at once when nothing serves the service', async (context) => {
      const b = await bus(context);
      const reply = await b.request(serviceName(), { uri: '/v1/x', method: 'GET' }, { timeoutMs: 10_000 });
      expect(reply.status_code).toBe(404);
      expect(reply.data).toMatchObject({ error: { reason: 'ROUTE_NOT_FOUND' } });
    });

    it('answers 404 for a route the router does not know, and rpcCall throws it', async (context) => {
      const b = await bus(context);
      const service = serviceName();
      const router = createRpcRouter()
        .add('GET', '/v1/items/:id', async ({ params, query }) => ({ id: params.id, view: query.get('view') }))
        .add('POST', '/v1/items', async ({ data }) => rpcReply(201, z.object({ n: z.number() }).parse(data)));
      subscriptions.push(await b.serve(service, router.handle));
      await expect(rpcCall(b, service, 'GET', '/v1/items/a%2Fb?view=full')).resolves.toEqual({ id: 'a/b', view: 'full' });
      await expect(b.request(service, { uri: '/v1/items', method: 'POST', data: { n: 1 } })).resolves.toEqual({ status_code: 201, data: { n: 1 } });
      const missing = await rpcCall(b, service, 'GET', '/v1/unknown').catch((caught: unknown) => caught);
      expect(missing).toMatchObject({ reason: 'ROUTE_NOT_FOUND', status: 'NOT_FOUND' });
      const invalid = await rpcCall(b, service, 'POST', '/v1/items', { n: 'one' }).catch((caught: unknown) => caught);
      expect(invalid).toMatchObject({ reason: 'VALIDATION_FAILED', status: 'INVALID_ARGUMENT' });
      const wrongMethod = await rpcCall(b, service, 'DELETE', '/v1/items/1').catch((caught: unknown) => caught);
      expect(wrongMethod).toMatchObject({ reason: 'ROUTE_NOT_FOUND' });
    });

    it('routes to one instance by id and shares plain requests between instances', async (context) => {
      const first = await bus(context);
      const second = await bus(context);
      const service = serviceName();
      queues.add(`${service}.request.a`);
      queues.add(`${service}.request.b`);
      const answer = (instance: string) => async () => ({ status_code: 200, data: { instance } });
      subscriptions.push(await first.serve(service, answer('a'), { instanceId: 'a' }));
      subscriptions.push(await second.serve(service, answer('b'), { instanceId: 'b' }));
      for (let i = 0; i < 5; i++) {
        expect((await first.request(service, { uri: '/', method: 'GET' }, { instanceId: 'b' })).data).toEqual({ instance: 'b' });
        expect((await second.request(service, { uri: '/', method: 'GET' }, { instanceId: 'a' })).data).toEqual({ instance: 'a' });
      }
      const shared = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const reply = await first.request(service, { uri: '/', method: 'GET' });
        shared.add((reply.data as { instance: string }).instance);
      }
      expect([...shared].sort()).toEqual(['a', 'b']);
      const gone = await first.request(service, { uri: '/', method: 'GET' }, { instanceId: 'nobody' });
      expect(gone.status_code).toBe(404);
    });

    it('fans events out to every queue, filters by type and shares one queue between consumers', async (context) => {
      const b = await bus(context);
      const other = await bus(context);
      const publisher = serviceName();
      const all: string[] = [];
      const created: string[] = [];
      const shared: string[][] = [[], []];
      subscriptions.push(await b.subscribe(publisher, ['#'], async (event) => void all.push(event.type), { queue: queueName('all') }));
      subscriptions.push(
        await other.subscribe(publisher, ['thing_created'], async (event) => void created.push(event.type), { queue: queueName('created') }),
      );
      const sharedQueue = queueName('shared');
      subscriptions.push(await b.subscribe(publisher, ['#'], async (event) => void shared[0]!.push(String(event.data)), { queue: sharedQueue }));
      subscriptions.push(await other.subscribe(publisher, ['#'], async (event) => void shared[1]!.push(String(event.data)), { queue: sharedQueue }));

      for (let i = 0; i < 10; i++) await b.publish(publisher, { type: i % 2 === 0 ? 'thing_created' : 'thing_deleted', data: `e${i}` });
      await eventually(() => all.length === 10 && created.length === 5 && shared[0]!.length + shared[1]!.length === 10, 'deliveries');
      expect(created.every((type) => type === 'thing_created')).toBe(true);
      expect([...shared[0]!, ...shared[1]!].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`).sort());
      expect(shared[0]!.length).toBeGreaterThan(0);
      expect(shared[1]!.length).toBeGreaterThan(0);
    });

    it('keeps events for a durable subscriber whose process was down', async (context) => {
      const publisherBus = await bus(context);
      const publisher = serviceName();
      const queue = queueName('durable');
      const before = await bus(context);
      const early: EventEnvelope[] = [];
      const subscription = await before.subscribe(publisher, ['#'], async (event) => void early.push(event), { queue });
      await publisherBus.publish(publisher, { type: 'thing_created', data: { n: 1 } });
      await eventually(() => early.length === 1, 'the first event');
      await subscription.close();
      await before.close();

      await publisherBus.publish(publisher, { type: 'thing_updated', data: { n: 2 } });
      const after = await bus(context);
      const late: EventEnvelope[] = [];
      subscriptions.push(await after.subscribe(publisher, ['#'], async (event) => void late.push(event), { queue }));
      await eventually(() => late.length === 1, 'the event published while the subscriber was down');
      expect(late[0]).toEqual({ type: 'thing_updated', publisher, data: { n: 2 } });
    });

    it('does not keep events for a temporary subscriber that went away', async (context) => {
      const b = await bus(context);
      const publisher = serviceName();
      const queue = queueName('temporary');
      const first = await b.subscribe(publisher, ['#'], async () => undefined, { queue, temporary: true });
      await first.close();
      await b.publish(publisher, { type: 'thing_created', data: 1 });
      const received: unknown[] = [];
      subscriptions.push(await b.subscribe(publisher, ['#'], async (event) => void received.push(event.data), { queue, temporary: true }));
      await b.publish(publisher, { type: 'thing_created', data: 2 });
      await eventually(() => received.length >= 1, 'the new event');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(received).toEqual([2]);
    });

    it('redelivers an event whose handler failed, a bounded number of times', async (context) => {
      const b = await bus(context);
      const publisher = serviceName();
      const attempts = new Map<string, number>();
      subscriptions.push(
        await b.subscribe(
          publisher,
          ['#'],
          async (event) => {
            const key = String(event.data);
            attempts.set(key, (attempts.get(key) ?? 0) + 1);
            if (key === 'flaky' && attempts.get(key) === 1) throw new Error('first try fails');
            if (key === 'poison') throw new Error('always fails');
          },
          { queue: queueName('retry'), maxAttempts: 3 },
        ),
      );
      await b.publish(publisher, { type: 'thing_created', data: 'flaky' });
      await b.publish(publisher, { type: 'thing_created', data: 'poison' });
      await eventually(() => attempts.get('flaky') === 2 && attempts.get('poison') === 3, 'redeliveries');
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(attempts.get('flaky')).toBe(2);
      expect(attempts.get('poison')).toBe(3);
    });

    it('rejects a pending request when the bus closes, and refuses work afterwards', async (context) => {
      const b = await bus(context);
      const server = await bus(context);
      const service = serviceName();
      subscriptions.push(
        await server.serve(service, async () => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          return { status_code: 200 };
        }),
      );
      const pending = b.request(service, { uri: '/slow', method: 'GET' }, { timeoutMs: 10_000 }).catch((caught: unknown) => caught);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await b.close();
      expect(await pending).toMatchObject({ message: expect.stringMatching(/closed/) });
      await expect(b.publish(service, { type: 'x', data: null })).rejects.toThrow(/closed/);
      expect(b.isHealthy()).toBe(false);
    });
  });
}
