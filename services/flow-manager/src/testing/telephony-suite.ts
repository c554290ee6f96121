import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { buildRtpPacket, encodeSamples, parseRtpPacket } from '@avp/asterisk-simulator';
import { startTestTelephony, type TelephonyKind, type TestTelephony } from '@avp/asterisk-testing';
import {
  appError,
  createDatabase,
  createHttpServer,
  createInProcessBus,
  rpcCall,
  createMetricsRegistry,
  createRpcRouter,
  silentLogger,
  type Bus,
  type Database,
} from '@avp/shared';
import { createTestPgliteDatabase, eventually, freePort } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { snoopLegsCase } from './snoop-legs-case.ts';

/** The embedded stack: PGlite and the in-process bus. */
export async function embeddedTelephonyStack(): Promise<TelephonyStack> {
  const test = await createTestPgliteDatabase();
  const database = await createDatabase(test.options);
  const bus = createInProcessBus();
  return {
    database,
    bus,
    cleanup: async () => {
      await bus.close();
      await database.close();
      await test.drop();
    },
  };
}

/** The database and bus a suite run uses, and how to dispose of them. */
export interface TelephonyStack {
  database: Database;
  bus: Bus;
  cleanup(): Promise<void>;
}

const customerId = randomUUID();
const key = `key-${randomUUID()}`;

/**
 * flow-manager against an Asterisk: real ARI over HTTP and WebSocket, real RTP, scripted
 * callers; the simulator or a real Asterisk 23 (`kind`). Run once per stack (embedded,
 * PostgreSQL + RabbitMQ).
 */
export function describeTelephony(name: string, open: () => Promise<TelephonyStack | undefined>, kind: TelephonyKind = 'simulator'): void {
  describe(name, () => {
    let stack: TelephonyStack | undefined;
    let telephony: TestTelephony;
    let flowManager: FlowManager;
    let app: FastifyInstance;
    const app_ = `avp-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      stack = await open();
      if (!stack) return;
      telephony = await startTestTelephony(kind, { ariApp: app_, ariUser: 'asterisk', ariPassword: 'secret' });
      const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId };
      });
      await stack.bus.serve('ai-manager', aiManager.handle, { shared: true });
      const port = await freePort();
      flowManager = await createFlowManager(
        { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `telephony-${port}` },
        {
          ari: {
            connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: app_ },
            mediaBaseUrl: `http://127.0.0.1:${port}`,
            telDialTemplate: telephony.telDialTemplate,
          },
        },
      );
      app = createHttpServer({ logger: silentLogger() });
      await flowManager.registerRoutes(app);
      await app.listen({ port, host: '127.0.0.1' });
      await flowManager.start();
      await telephony.waitForApp();
    }, 60_000);

    afterAll(async () => {
      if (!stack) return;
      await flowManager.stop();
      await app.close();
      await telephony.close();
      await stack.cleanup();
    });

    async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
      const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
      return response.json() as Record<string, unknown>;
    }

    async function numberWithFlow(actions: unknown[]): Promise<string> {
      const flow = await api('POST', '/v1.0/flows', { actions });
      if (!flow.id) throw new Error(`flow rejected: ${JSON.stringify(flow)}`);
      const number = `+1${Math.floor(Math.random() * 1e10)}`;
      await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
      return number;
    }

    async function callOf(channelId: string): Promise<Record<string, unknown>> {
      const list = (await api('GET', '/v1.0/calls?page_size=100')) as { result: Record<string, unknown>[] };
      const call = list.result.find((entry) => entry.channel_id === channelId);
      if (!call) throw new Error(`no call for channel ${channelId}`);
      return call;
    }

    it('answers, talks, branches on DTMF, connects to a second endpoint and hangs up', async (context) => {
      if (!stack) return context.skip();
      const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
      const number = await numberWithFlow([
        { type: 'answer' },
        { type: 'talk', option: { text: 'Press one for the robot, two for Bob.' } },
        { type: 'digits_receive', option: { length: 1, duration: 10_000 } },
        { type: 'branch', option: { variable: 'voipbin.call.digits', target_ids: { '1': id(1), '2': id(2) }, default_target_id: id(3) } },
        { id: id(1), type: 'talk', option: { text: 'You chose the robot.' }, next_id: id(3) },
        { id: id(2), type: 'connect', option: { destinations: [{ type: 'tel', target: 'bob' }], timeout: 10 }, next_id: id(3) },
        { id: id(3), type: 'hangup' },
      ]);
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230000' });
      await caller.waitForAnswer(10_000);
      await caller.waitForAudio(15_000);
      await caller.waitForSilence(15_000);
      const call = await callOf(caller.id);
      expect(call).toMatchObject({ status: 'progressing', direction: 'incoming', source: '+15551230000', destination: number });

      const outbound = telephony.nextOutboundCall(15_000);
      await caller.sendDtmf('2');
      const bob = await outbound;
      await bob.waitForAnswer(10_000);
      // Audio crosses the bridge both ways.
      const bobHears = bob.waitForAudio(10_000);
      await caller.play(Int16Array.from({ length: 16_000 * 0.4 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000))));
      await bobHears;
      bob.hangup();
      await caller.waitForHangup(15_000);

      await eventually(async () => (await callOf(caller.id)).status === 'hangup', 'the call to end');
      const ended = await callOf(caller.id);
      expect(ended).toMatchObject({ status: 'hangup', hangup_by: 'local' });
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${String(ended.activeflow_id)}`)).status === 'ended', 'the activeflow to end');
      const activeflow = await api('GET', `/v1.0/activeflows/${String(ended.activeflow_id)}`);
      expect(activeflow).toMatchObject({
        status: 'ended',
        end_reason: 'hangup action',
        variables: expect.objectContaining({ 'voipbin.call.digits': '2', 'voipbin.connect.answered': 'true' }),
      });
    }, 60_000);

    it('ends the activeflow when the caller hangs up mid-talk', async (context) => {
      if (!stack) return context.skip();
      const number = await numberWithFlow([
        { type: 'answer' },
        { type: 'talk', option: { text: 'This is a very long announcement that nobody will wait to hear to the end, because it goes on and on.' } },
        { type: 'hangup' },
      ]);
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230001' });
      await caller.waitForAudio(15_000);
      caller.hangup();
      await eventually(async () => (await callOf(caller.id)).status === 'hangup', 'the hangup to be recorded');
      const call = await callOf(caller.id);
      expect(call).toMatchObject({ hangup_by: 'remote' });
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${String(call.activeflow_id)}`)).status === 'ended', 'the activeflow to end');
      expect(await api('GET', `/v1.0/activeflows/${String(call.activeflow_id)}`)).toMatchObject({ end_reason: 'the call hung up' });
    }, 60_000);

    it('survives the ARI events socket dropping mid-call', async (context) => {
      if (!stack) return context.skip();
      const number = await numberWithFlow([
        { type: 'answer' },
        { type: 'digits_receive', option: { length: 1, duration: 20_000 } },
        { type: 'talk', option: { text: 'Got it.' } },
        { type: 'hangup' },
      ]);
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230002' });
      await caller.waitForAnswer(10_000);
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${String((await callOf(caller.id)).activeflow_id)}`)).current_action !== null &&
        ((await api('GET', `/v1.0/activeflows/${String((await callOf(caller.id)).activeflow_id)}`)).current_action as { type: string }).type === 'digits_receive', 'the flow to wait for digits');

      flowManager.telephony!.dropEventsConnection();
      await eventually(() => !flowManager.telephony!.isConnected(), 'the socket to drop');
      await eventually(() => flowManager.telephony!.isConnected(), 'the socket to come back');
      await telephony.waitForApp();
      await caller.sendDtmf('5');
      await caller.waitForAudio(15_000);
      await caller.waitForHangup(15_000);
      const call = await callOf(caller.id);
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${String(call.activeflow_id)}`)).status === 'ended', 'the activeflow to end');
      const activeflow = await api('GET', `/v1.0/activeflows/${String(call.activeflow_id)}`);
      expect(activeflow).toMatchObject({ status: 'ended', variables: expect.objectContaining({ 'voipbin.call.digits': '5' }) });
    }, 60_000);

    it('ends a call whose channel vanished while Asterisk restarted, and takes calls again', async (context) => {
      if (!stack) return context.skip();
      const number = await numberWithFlow([
        { type: 'answer' },
        { type: 'digits_receive', option: { length: 1, duration: 30_000 } },
        { type: 'talk', option: { text: 'Welcome back.' } },
        { type: 'hangup' },
      ]);
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230009' });
      await caller.waitForAnswer(10_000);
      const call = await callOf(caller.id);

      // kill -9 and a new start: the call is gone from Asterisk without any hang-up event.
      await telephony.restart();
      await caller.waitForHangup(10_000);
      await eventually(() => flowManager.telephony!.isConnected(), 'ARI to come back', 20_000);
      await eventually(async () => (await callOf(caller.id)).status === 'hangup', 'the vanished call to be ended', 20_000);
      await eventually(async () => (await api('GET', `/v1.0/activeflows/${String(call.activeflow_id)}`)).status === 'ended', 'its activeflow to end', 20_000);

      await telephony.waitForApp(20_000);
      const next = telephony.placeCall({ extension: number, callerNumber: '+15551230010' });
      await next.waitForAnswer(10_000);
      await next.sendDtmf('1');
      await next.waitForAudio(15_000);
      await next.waitForHangup(20_000);
    }, 90_000);

    it('connects a call to an external RTP media leg and back, then removes it', async (context) => {
      if (!stack) return context.skip();
      const number = await numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
      const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230003' });
      await caller.waitForAnswer(10_000);
      const call = await callOf(caller.id);

      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      const received: Buffer[] = [];
      socket.on('message', (message) => received.push(message));
      try {
        const media = await rpcCall<{ local_address: string; local_port: number; channel_id: string; bridge_id: string }>(
          stack.bus,
          'flow-manager',
          'POST',
          `/v1/calls/${String(call.id)}/external_media`,
          { customer_id: customerId, transport: 'rtp', external_host: `127.0.0.1:${socket.address().port}`, format: 'ulaw' },
        );
        expect(media).toMatchObject({ local_address: '127.0.0.1', local_port: expect.any(Number) });

        // The caller's voice reaches the media leg as u-law RTP.
        await caller.play(Int16Array.from({ length: 16_000 * 0.3 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000))));
        await eventually(() => received.some((packet) => (parseRtpPacket(packet)?.payload.some((byte) => byte !== 0xff) ?? false)), 'caller audio over RTP');
        expect(parseRtpPacket(received[0]!)).toMatchObject({ payloadType: 0 });

        // What the media leg sends is heard by the caller.
        const hears = caller.waitForAudio(10_000);
        const tone = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
        for (let packet = 0; packet < 25; packet++) {
          socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: packet, timestamp: packet * 160, ssrc: 42, marker: packet === 0, payload: encodeSamples('ulaw', tone, 'big') }), media.local_port, media.local_address);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await hears;

        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/calls/${String(call.id)}/external_media`, { customer_id: customerId });
        await eventually(async () => !(await telephony.channels()).some((channel) => channel.id === media.channel_id), 'the media channel to go');
        const bad = await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${String(call.id)}/external_media`, { customer_id: customerId, transport: 'rtp', format: 'ulaw' }).catch(
          (error: unknown) => error,
        );
        expect(bad).toMatchObject({ reason: 'VALIDATION_FAILED' });
      } finally {
        socket.close();
        caller.hangup();
      }
    }, 60_000);

    it('adds per-direction snoop media legs beside an AI media leg that keeps working, removes one, and the caller\'s hang-up takes the rest', async (context) => {
      if (!stack) return context.skip();
      await snoopLegsCase({ bus: stack.bus, telephony, customerId, numberWithFlow, callOf });
    }, 60_000);

    it('plays media, bridges calls and connects a call to an endpoint over RPC', async (context) => {
      if (!stack) return context.skip();
      const number = await numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
      const first = telephony.placeCall({ extension: number, callerNumber: '+15551230004' });
      const second = telephony.placeCall({ extension: number, callerNumber: '+15551230005' });
      await first.waitForAnswer(10_000);
      await second.waitForAnswer(10_000);
      const [firstCall, secondCall] = [await callOf(first.id), await callOf(second.id)];
      const tone = Int16Array.from({ length: 16_000 * 0.4 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
      try {
        const hearsPlayback = first.waitForAudio(10_000);
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${String(firstCall.id)}/play`, { customer_id: customerId, stream_urls: ['tone:440'] });
        await hearsPlayback;
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${String(firstCall.id)}/media_stop`, { customer_id: customerId });
        await first.waitForSilence(10_000);

        const bridge = await rpcCall<{ id: string }>(stack.bus, 'flow-manager', 'POST', '/v1/bridges', { customer_id: customerId, name: 'test' });
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/bridges/${bridge.id}/calls`, { customer_id: customerId, call_ids: [firstCall.id, secondCall.id] });
        const secondHears = second.waitForAudio(10_000);
        await first.play(tone);
        await secondHears;
        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/bridges/${bridge.id}`, { customer_id: customerId });

        const outbound = telephony.nextOutboundCall(15_000);
        await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${String(secondCall.id)}/connect`, {
          customer_id: customerId,
          destinations: [{ type: 'endpoint', target: telephony.endpointFor('carol') }],
        });
        const carol = await outbound;
        await carol.waitForAnswer(10_000);
        const carolHears = carol.waitForAudio(10_000);
        
        await second.play(tone);
        await carolHears;
        carol.hangup();
      } finally {
        first.hangup();
        second.hangup();
      }
    }, 60_000);
  });
}
