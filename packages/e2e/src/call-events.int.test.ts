import { OutboundPolicy, parseOutboundAllowList } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { describeModes, useStack } from './testing/stack.ts';

interface Received {
  id: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
}

/** A webhook endpoint keeping each delivery with whether its signature was right. */
function webhookReceiver() {
  const deliveries: (Received & { signed: boolean })[] = [];
  let secret = '';
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(request.headers['x-avp-timestamp']);
      const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
      deliveries.push({ ...(JSON.parse(body) as Received), signed: request.headers['x-avp-signature'] === expected });
      response.writeHead(204).end();
    });
  });
  return {
    deliveries,
    setSecret: (value: string) => (secret = value),
    listen: async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * flow-manager's call and activeflow events reach the customer: a WebSocket client subscribed
 * to `customer_id:<id>:call` and `...:activeflow` and the customer's webhook receiver get each
 * event of a call's life once, in the order it happened, signed like ai-manager's own; another
 * customer's subscription gets none of them.
 */
await describeModes('call and activeflow events to customers', (mode) => {
  const hooks = webhookReceiver();
  let hookUrl = '';
  beforeAll(async () => {
    hookUrl = await hooks.listen();
  });
  afterAll(() => hooks.close());
  const stack = useStack(() => ({
    mode,
    name: 'call-events',
    aiManager: { outbound: new OutboundPolicy(parseOutboundAllowList('127.0.0.1')), webhooks: { pollIntervalMs: 50 } },
  }));

  it('delivers a call and its activeflow, in order, over WebSocket and webhooks; to its customer only', async () => {
    const customer = (await stack.api('PUT', '/v1.0/customer', { webhook_uri: hookUrl })) as { id: string; webhook_secret: string };
    hooks.setSecret(customer.webhook_secret);
    const port = (stack.app.server.address() as AddressInfo).port;
    const connect = async (key: string, topics: string[]) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/v1.0/ws?token=${key}`);
      const received: Received[] = [];
      socket.on('message', (raw: Buffer) => {
        const message = JSON.parse(raw.toString('utf8')) as Received & { type: string };
        if (message.type !== 'subscribed' && message.type !== 'pong' && message.data) received.push(message);
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'subscribe', topics }));
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { socket, received };
    };
    const mine = await connect(stack.key, [`customer_id:${customer.id}:call`, `customer_id:${customer.id}:activeflow`]);
    const otherKey = await stack.createCustomer('call-events-other');
    const otherCustomer = (await stack.apiAs(otherKey)('GET', '/v1.0/customer')) as { id: string };
    const theirs = await connect(otherKey, [`customer_id:${otherCustomer.id}:call`, `customer_id:${customer.id}:call`]);

    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'digits_receive', option: { duration: 3000, length: 1 } }, { type: 'hangup' }]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550003456' });
    await caller.waitForAnswer(10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await caller.sendDtmf('5');
    await eventually(() => caller.ended, 'the flow to hang up', 15_000);

    const expected = ['call_created', 'activeflow_created', 'call_progressing', 'call_dtmf_received', 'call_hangup', 'activeflow_ended'];
    const relevant = (events: Received[]) => events.filter((event) => expected.includes(event.type));
    // The call's and the activeflow's last events (the two resources' events are not ordered between them).
    const complete = (events: Received[]) => ['call_hangup', 'activeflow_ended'].every((type) => events.some((event) => event.type === type));
    await eventually(() => complete(mine.received), 'the WebSocket events', 15_000);
    await eventually(() => complete(hooks.deliveries), 'the webhooks', 15_000);

    for (const events of [relevant(mine.received), relevant(hooks.deliveries)]) {
      // Each resource's events in the order they happened, each once.
      const ofCall = events.filter((event) => event.type.startsWith('call_')).map((event) => event.type);
      expect(ofCall).toEqual(['call_created', 'call_progressing', 'call_dtmf_received', 'call_hangup']);
      const ofFlow = events.filter((event) => event.type.startsWith('activeflow_')).map((event) => event.type);
      expect(ofFlow[0]).toBe('activeflow_created');
      expect(ofFlow.at(-1)).toBe('activeflow_ended');
      expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
      // Numbered in the customer's sequence, increasing for each resource (webhooks of two
      // resources go out side by side, so only each resource's own order is promised).
      for (const prefix of ['call_', 'activeflow_']) {
        const seqs = events.filter((event) => event.type.startsWith(prefix)).map((event) => event.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      const hangup = events.find((event) => event.type === 'call_hangup')!;
      expect(hangup.data).toMatchObject({ customer_id: customer.id, status: 'hangup' });
      expect(events.find((event) => event.type === 'call_dtmf_received')!.data).toMatchObject({ digit: '5' });
    }
    expect(hooks.deliveries.every((delivery) => delivery.signed)).toBe(true);
    // The same events, by id, on both ways.
    expect(relevant(hooks.deliveries).map((event) => event.id)).toEqual(relevant(mine.received).map((event) => event.id));
    // Another customer's subscription hears nothing of it (a topic of another customer is refused).
    expect(theirs.received.filter((event) => (event.data as { customer_id?: string }).customer_id === customer.id)).toEqual([]);
    mine.socket.close();
    theirs.socket.close();
  });
});
