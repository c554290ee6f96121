import { EventEmitter } from 'node:events';
import { silentLogger } from '@avp/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { maxTopicsPerClient, revokedCloseCode, slowClientCloseCode, WebsocketHub } from './websocket-hub.ts';

const customer = '11111111-1111-4111-8111-111111111111';
const keyId = '22222222-2222-4222-8222-222222222222';

/** A stand-in socket recording what the hub does with it. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closed: number | undefined;
  terminated = false;
  pings = 0;
  send(text: string) {
    this.sent.push(text);
  }
  close(code: number) {
    this.closed = code;
  }
  terminate() {
    this.terminated = true;
  }
  ping() {
    this.pings += 1;
  }
  receive(message: unknown) {
    this.emit('message', Buffer.from(JSON.stringify(message)), false);
  }
}

function connect(hub: WebsocketHub, owner = { customerId: customer, keyId }): FakeSocket {
  const socket = new FakeSocket();
  hub.add(socket as unknown as WebSocket, owner);
  return socket;
}

describe('WebsocketHub', () => {
  afterEach(() => vi.useRealTimers());

  it('drops a client that does not read instead of buffering without bound', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100 });
    const socket = connect(hub);
    socket.receive({ type: 'subscribe', topics: [`customer_id:${customer}`] });
    socket.bufferedAmount = 101;
    hub.deliver({ type: 'ai_created', publisher: 'ai-manager', data: { id: customer, customer_id: customer } });
    expect(socket.closed).toBe(slowClientCloseCode);
    expect(hub.size).toBe(0);
    expect(socket.sent.some((text) => text.includes('ai_created'))).toBe(false);
  });

  it('pings clients and drops one that missed a pong', () => {
    vi.useFakeTimers();
    const counts: number[] = [];
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100, onClientCount: (count) => counts.push(count) });
    hub.start();
    const answering = connect(hub);
    const silent = connect(hub);
    vi.advanceTimersByTime(1000);
    expect([answering.pings, silent.pings]).toEqual([1, 1]);
    answering.emit('pong');
    vi.advanceTimersByTime(1000);
    expect(silent.terminated).toBe(true);
    expect(answering.terminated).toBe(false);
    expect(hub.size).toBe(1);
    hub.stop();
    expect(answering.closed).toBe(1001);
    expect(counts).toEqual([1, 2, 1, 0]);
  });

  it('answers an application-level ping with a pong', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100 });
    const socket = connect(hub);
    socket.receive({ type: 'ping' });
    expect(socket.sent).toEqual([JSON.stringify({ type: 'pong' })]);
  });

  it('caps the topics of one connection', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100 });
    const socket = connect(hub);
    const topic = (index: number) => `customer_id:${customer}:aicall:${index.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    for (let start = 0; start < maxTopicsPerClient; start += 100) {
      socket.receive({ type: 'subscribe', topics: Array.from({ length: 100 }, (_, index) => topic(start + index)) });
    }
    socket.receive({ type: 'subscribe', topics: [topic(maxTopicsPerClient)] });
    expect(JSON.parse(socket.sent.at(-1)!)).toEqual({ type: 'error', message: `at most ${maxTopicsPerClient} topics per connection` });
    socket.receive({ type: 'subscribe', topics: [topic(0)] });
    expect(JSON.parse(socket.sent.at(-1)!).type).toBe('subscribed');
  });

  it('ignores events without a customer', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100 });
    const socket = connect(hub);
    socket.receive({ type: 'subscribe', topics: [`customer_id:${customer}`] });
    hub.deliver({ type: 'ai_created', publisher: 'ai-manager', data: { id: customer } });
    expect(socket.sent).toHaveLength(1);
  });

  it('closes the connections of a revoked key or customer and delivers nothing more to them', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 100 });
    const revoked = connect(hub);
    const otherKey = connect(hub, { customerId: customer, keyId: '33333333-3333-4333-8333-333333333333' });
    for (const socket of [revoked, otherKey]) socket.receive({ type: 'subscribe', topics: [`customer_id:${customer}`] });
    expect(hub.revoke({ keyId })).toBe(1);
    expect([revoked.closed, otherKey.closed]).toEqual([revokedCloseCode, undefined]);
    hub.deliver({ type: 'ai_created', publisher: 'ai-manager', data: { id: keyId, customer_id: customer } });
    expect(revoked.sent.some((text) => text.includes('ai_created'))).toBe(false);
    expect(otherKey.sent.some((text) => text.includes('ai_created'))).toBe(true);
    expect(hub.revoke({ customerId: customer.toUpperCase() })).toBe(1);
    expect([otherKey.closed, hub.size]).toEqual([revokedCloseCode, 0]);
  });

  it('closes, at its periodic check, connections whose key is no longer live', async () => {
    vi.useFakeTimers();
    const live = new Set([keyId]);
    const asked: string[][] = [];
    const hub = new WebsocketHub(silentLogger(), {
      heartbeatMs: 60_000,
      maxBufferedBytes: 100,
      keyCheckMs: 1000,
      liveKeyIds: async (keyIds) => {
        asked.push(keyIds);
        return new Set(keyIds.filter((id) => live.has(id)));
      },
    });
    hub.start();
    const socket = connect(hub);
    await vi.advanceTimersByTimeAsync(1000);
    expect([asked, socket.closed]).toEqual([[[keyId]], undefined]);
    live.clear();
    await vi.advanceTimersByTimeAsync(1000);
    expect(socket.closed).toBe(revokedCloseCode);
    hub.stop();
  });
  it('replays the events after `since`, holds live ones meanwhile, and pushes none twice at the seam', async () => {
    const aiEvent = (seq: number) => ({ type: 'ai_updated', publisher: 'ai-manager', id: `event-${seq}`, seq, data: { id: keyId, customer_id: customer, name: `v${seq}` } });
    let finishRead: (events: ReturnType<typeof aiEvent>[]) => void = () => undefined;
    const hub = new WebsocketHub(silentLogger(), {
      heartbeatMs: 1000,
      maxBufferedBytes: 1000,
      readEventsSince: (_customerId, since) =>
        new Promise((resolve) => {
          expect(since).toBe(1);
          finishRead = (events) => resolve({ kind: 'events', events, latestSeq: 3 });
        }),
    });
    const socket = connect(hub);
    socket.receive({ type: 'subscribe', topics: [`customer_id:${customer}:ai`], since: 1 });
    // Live events while the replay reads: one the replay also carries, one after it.
    hub.deliver(aiEvent(3));
    hub.deliver(aiEvent(4));
    expect(socket.sent).toEqual([]);
    finishRead([aiEvent(2), aiEvent(3)]);
    await vi.waitFor(() => expect(socket.sent.length).toBeGreaterThanOrEqual(4));
    // A late live copy of a replayed event (another process's publish) is dropped too.
    hub.deliver(aiEvent(2));
    hub.deliver(aiEvent(5));
    const messages = socket.sent.map((text) => JSON.parse(text) as { type: string; id?: string; seq?: number; replayed?: number });
    expect(messages.map((message) => message.seq ?? message.type)).toEqual([2, 3, 'subscribed', 4, 5]);
    expect(messages[0]).toEqual({ id: 'event-2', seq: 2, type: 'ai_updated', data: aiEvent(2).data });
    expect(messages[2]).toMatchObject({ type: 'subscribed', replayed: 2 });
  });

  it('refuses `since` where no replay is available', () => {
    const hub = new WebsocketHub(silentLogger(), { heartbeatMs: 1000, maxBufferedBytes: 1000 });
    const socket = connect(hub);
    socket.receive({ type: 'subscribe', topics: [`customer_id:${customer}`], since: 3 });
    expect(JSON.parse(socket.sent[0]!)).toEqual({ type: 'error', message: 'resuming with since is not available here' });
  });
});
