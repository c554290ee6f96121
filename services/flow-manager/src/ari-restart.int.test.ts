import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { parseRtpPacket } from '@avp/asterisk-simulator';
import { realAsteriskSkipReason, startTestTelephony, type TelephonyKind, type TestTelephony } from '@avp/asterisk-testing';
import { appError, createHttpServer, createMetricsRegistry, createRpcRouter, rpcCall, silentLogger, type AicallStatus } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from './app.ts';
import { AriClient } from './ari/ari-client.ts';
import { embeddedTelephonyStack, type TelephonyStack } from './testing/telephony-suite.ts';

/**
 * flow-manager stopped while calls hold what it created in Asterisk (an AI call's external
 * media leg, a `connect`), and a new instance started on the same database: what still serves
 * a live call is taken over, what serves nothing any more is removed, and once the calls end
 * nothing of flow-manager's is left in Asterisk.
 */
function describeRestart(kind: TelephonyKind): void {
  describe(`flow-manager restarting mid-call (${kind})`, () => {
    const customerId = randomUUID();
    const key = `key-${randomUUID()}`;
    const ariApp = `avp-${randomUUID().slice(0, 8)}`;
    /** The AIcalls the test's ai-manager knows, with their status. */
    const aicalls = new Map<string, AicallStatus>();
    let stack: TelephonyStack;
    let telephony: TestTelephony;
    let instance: { flowManager: FlowManager; app: FastifyInstance } | undefined;

    async function startFlowManager(): Promise<void> {
      const flowManager = await createFlowManager(
        { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `restart-${randomUUID().slice(0, 8)}` },
        {
          ari: { connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: ariApp }, mediaBaseUrl: 'http://127.0.0.1:9', telDialTemplate: telephony.telDialTemplate },
          // ai-manager's answer to ai_talk: a session whose stack waits in a block.
          serviceStarter: {
            async start(serviceKind) {
              const id = randomUUID();
              aicalls.set(id, 'progressing');
              return { id, type: serviceKind, push_actions: [{ id, type: 'block' }] };
            },
          },
        },
      );
      const app = createHttpServer({ logger: silentLogger() });
      await flowManager.registerRoutes(app);
      await flowManager.start();
      await telephony.waitForApp();
      instance = { flowManager, app };
    }

    /** flow-manager goes away with its memory; Asterisk keeps what it had. */
    async function stopFlowManager(): Promise<void> {
      await instance?.flowManager.stop();
      await instance?.app.close();
      instance = undefined;
    }

    beforeAll(async () => {
      stack = await embeddedTelephonyStack();
      telephony = await startTestTelephony(kind, { ariApp, ariUser: 'asterisk', ariPassword: 'secret' });
      const aiManager = createRpcRouter()
        // ai-manager's AI directory, asked when a flow naming an AI is saved: every AI is the customer's here.
        .add('GET', '/v1/ais/:id', async ({ params }) => ({ id: params.id }))
        .add('POST', '/v1/accesskeys/verify', async ({ data }) => {
          if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
          return { customer_id: customerId };
        })
        .add('GET', '/v1/aicalls/:id', async ({ params }) => {
          const status = aicalls.get(params.id!);
          if (!status) throw appError('RESOURCE_NOT_FOUND');
          return { id: params.id, status };
        });
      await stack.bus.serve('ai-manager', aiManager.handle, { shared: true });
      await startFlowManager();
    }, 60_000);

    afterAll(async () => {
      await stopFlowManager();
      await telephony?.close();
      await stack?.cleanup();
    });

    async function api(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Record<string, unknown>> {
      const response = await instance!.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
      return response.json() as Record<string, unknown>;
    }

    async function callTo(actions: unknown[], callerNumber: string) {
      const flow = await api('POST', '/v1.0/flows', { actions });
      const number = `+1${Math.floor(Math.random() * 1e10)}`;
      await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
      const caller = telephony.placeCall({ extension: number, callerNumber });
      await caller.waitForAnswer(10_000);
      let call: Record<string, unknown> | undefined;
      await eventually(async () => {
        call = ((await api('GET', '/v1.0/calls?page_size=100')).result as Record<string, unknown>[]).find((entry) => entry.channel_id === caller.id);
        return call !== undefined;
      }, 'the call to be recorded');
      return { caller, callId: String(call!.id), activeflowId: String(call!.activeflow_id) };
    }

    /** An AI call (the flow waits in ai_talk) with an RTP media leg to a socket of the test's (pipeline-manager's part). */
    async function aiCallWithMediaLeg(callerNumber: string) {
      const { caller, callId, activeflowId } = await callTo([{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: randomUUID() } }], callerNumber);
      let aicallId = '';
      await eventually(async () => {
        const activeflow = await api('GET', `/v1.0/activeflows/${activeflowId}`);
        aicallId = (activeflow.variables as Record<string, string>)['voipbin.aicall.id'] ?? '';
        return activeflow.status === 'waiting' && aicallId !== '';
      }, 'the flow to wait in ai_talk');
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      const media = await rpcCall<{ channel_id: string; bridge_id: string }>(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/external_media`, {
        customer_id: customerId,
        transport: 'rtp',
        external_host: `127.0.0.1:${socket.address().port}`,
        format: 'ulaw',
      });
      return { caller, callId, aicallId, socket, media };
    }

    const channelIds = async () => (await telephony.channels()).map((channel) => channel.id);
    const bridgeIds = async () => (await telephony.bridges()).map((bridge) => bridge.id);
    async function nothingLeft(): Promise<void> {
      await eventually(async () => (await telephony.channels()).length === 0 && (await telephony.bridges()).length === 0, 'nothing to be left in Asterisk', 15_000, 100);
    }
    const tone = Int16Array.from({ length: 16_000 * 0.3 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
    async function hearsCaller(socket: Socket, caller: { play(samples: Int16Array): Promise<void> }): Promise<void> {
      let heard = false;
      const listener = (packet: Buffer) => (heard ||= parseRtpPacket(packet)?.payload.some((byte) => byte !== 0xff) ?? false);
      socket.on('message', listener);
      try {
        await caller.play(tone);
        await eventually(() => heard, "the caller's voice over the media leg");
      } finally {
        socket.off('message', listener);
      }
    }

    it('takes over the media leg of an AI call that goes on, so it can still be removed and goes with the call', async () => {
      const { caller, callId, socket, media } = await aiCallWithMediaLeg('+15551240001');
      try {
        await stopFlowManager();
        await startFlowManager();
        expect(await channelIds()).toContain(media.channel_id);
        expect(await bridgeIds()).toContain(media.bridge_id);
        await hearsCaller(socket, caller);

        // pipeline-manager removes the leg through the new instance.
        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/external_media`, { customer_id: customerId });
        await eventually(async () => !(await channelIds()).includes(media.channel_id) && !(await bridgeIds()).includes(media.bridge_id), 'the leg and its bridge to go');
        caller.hangup();
        await nothingLeft();
      } finally {
        socket.close();
      }
    }, 90_000);

    it('replaces a call\'s media leg with a new one keeping the caller (crash resumption), and removes a leg only by its own channel', async () => {
      const { caller, callId, socket, media } = await aiCallWithMediaLeg('+15551240004');
      const next = createSocket('udp4');
      await new Promise<void>((resolve) => next.bind(0, '127.0.0.1', resolve));
      try {
        // Another pipeline takes the call over: its leg replaces the dead one's.
        const replaced = await rpcCall<{ channel_id: string }>(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/external_media`, {
          customer_id: customerId,
          transport: 'rtp',
          external_host: `127.0.0.1:${next.address().port}`,
          format: 'ulaw',
        });
        await eventually(async () => !(await channelIds()).includes(media.channel_id), 'the old leg to go');
        expect(await channelIds()).toEqual(expect.arrayContaining([caller.id, replaced.channel_id]));
        await hearsCaller(next, caller);
        // The replaced pipeline removes its own leg by name: the new one stays.
        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/external_media`, { customer_id: customerId, channel_id: media.channel_id });
        expect(await channelIds()).toContain(replaced.channel_id);
        await hearsCaller(next, caller);
        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/external_media`, { customer_id: customerId, channel_id: replaced.channel_id });
        await eventually(async () => !(await channelIds()).includes(replaced.channel_id), 'the new leg to go when its own pipeline removes it');
        expect(await channelIds()).toContain(caller.id);
        caller.hangup();
        await nothingLeft();
      } finally {
        socket.close();
        next.close();
      }
    }, 90_000);

    it('removes the media leg of an AI session that ended while flow-manager was away, and keeps the call', async () => {
      const { caller, callId, aicallId, socket, media } = await aiCallWithMediaLeg('+15551240002');
      try {
        await stopFlowManager();
        aicalls.set(aicallId, 'terminated');
        await startFlowManager();
        await eventually(async () => !(await channelIds()).includes(media.channel_id) && !(await bridgeIds()).includes(media.bridge_id), 'the leg and its bridge to go');
        expect(await channelIds()).toContain(caller.id);
        expect(await api('GET', `/v1.0/calls/${callId}`)).toMatchObject({ status: 'progressing' });
        caller.hangup();
        await nothingLeft();
      } finally {
        socket.close();
      }
    }, 90_000);

    it('removes the media leg of a call that was hung up while flow-manager was away', async () => {
      const { caller, callId, socket, media } = await aiCallWithMediaLeg('+15551240003');
      try {
        await stopFlowManager();
        caller.hangup();
        await eventually(async () => !(await channelIds()).includes(caller.id), 'the caller to be gone');
        expect(await channelIds()).toContain(media.channel_id);
        await startFlowManager();
        await nothingLeft();
        expect(await api('GET', `/v1.0/calls/${callId}`)).toMatchObject({ status: 'hangup' });
      } finally {
        socket.close();
      }
    }, 90_000);

    it('takes over a snoop media leg of a live call (it can still be removed), and removes one whose caller hung up while flow-manager was away', async () => {
      const { caller, callId } = await callTo([{ type: 'answer' }, { type: 'block' }], '+15551240006');
      const socket = createSocket('udp4');
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
      type SnoopLeg = { channel_id: string; snoop_channel_id: string; bridge_id: string };
      const snoop = (direction: 'in' | 'out') =>
        rpcCall<SnoopLeg>(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/snoop_media`, { customer_id: customerId, direction, external_host: `127.0.0.1:${socket.address().port}` });
      try {
        const leg = await snoop('in');
        await stopFlowManager();
        await startFlowManager();
        expect(await channelIds()).toEqual(expect.arrayContaining([leg.channel_id, leg.snoop_channel_id]));
        expect(await bridgeIds()).toContain(leg.bridge_id);
        await hearsCaller(socket, caller);
        // Removed through the new instance.
        await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/snoop_media/${leg.channel_id}`, { customer_id: customerId });
        await eventually(async () => !(await channelIds()).includes(leg.channel_id) && !(await bridgeIds()).includes(leg.bridge_id), 'the leg and its bridge to go');

        // flow-manager is away when the caller hangs up: Asterisk ends the snoop, and keeps the
        // leg's RTP channel and bridge until the next flow-manager removes them.
        const second = await snoop('out');
        await stopFlowManager();
        caller.hangup();
        await eventually(async () => !(await channelIds()).includes(caller.id) && !(await channelIds()).includes(second.snoop_channel_id), 'the caller and the snoop to be gone');
        expect(await channelIds()).toContain(second.channel_id);
        expect(await bridgeIds()).toContain(second.bridge_id);
        await startFlowManager();
        await nothingLeft();
      } finally {
        socket.close();
      }
    }, 90_000);

    it('takes over a connected call: when the callee hangs up, its bridge goes too', async () => {
      const { caller, callId } = await callTo([{ type: 'answer' }, { type: 'block' }], '+15551240004');
      const outbound = telephony.nextOutboundCall(15_000);
      await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/connect`, {
        customer_id: customerId,
        destinations: [{ type: 'endpoint', target: telephony.endpointFor('carol') }],
      });
      const carol = await outbound;
      await carol.waitForAnswer(10_000);
      await eventually(async () => (await bridgeIds()).some((id) => id.startsWith('connect-')), 'the caller and carol to be bridged');
      await stopFlowManager();
      await startFlowManager();

      // They still talk.
      const carolHears = carol.waitForAudio(10_000);
      await caller.play(tone);
      await carolHears;
      carol.hangup();
      await eventually(async () => !(await bridgeIds()).some((id) => id.startsWith('connect-')), 'the connect bridge to go');
      caller.hangup();
      await nothingLeft();
    }, 90_000);

    it('stops a playback whose waiter went away with flow-manager', async () => {
      const { caller, callId } = await callTo([{ type: 'answer' }, { type: 'block' }], '+15551240005');
      const hears = caller.waitForAudio(10_000);
      await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${callId}/play`, { customer_id: customerId, stream_urls: ['tone:440'] });
      await hears;
      await stopFlowManager();
      await startFlowManager();
      await caller.waitForSilence(10_000);
      caller.hangup();
      await nothingLeft();
    }, 90_000);

    it('removes channels and bridges of its own that nothing records, and keeps a customer bridge', async () => {
      const bridge = await rpcCall<{ id: string }>(stack.bus, 'flow-manager', 'POST', '/v1/bridges', { customer_id: customerId, name: 'kept' });
      // What a flow-manager older than its records, or one that died mid-removal, leaves behind
      // (made while it runs: Asterisk refuses channels for a Stasis app nobody serves).
      const ari = new AriClient({ url: telephony.url, user: 'asterisk', password: 'secret', app: ariApp });
      const orphan = `media-${randomUUID()}`;
      await ari.createBridge(orphan, 'orphan');
      await ari.createBridge(`connect-${randomUUID()}`, 'orphan');
      await ari.externalMedia({ channelId: `${orphan}-leg`, external_host: '127.0.0.1:9', format: 'ulaw', encapsulation: 'rtp', transport: 'udp' });
      await eventually(async () => (await channelIds()).includes(`${orphan}-leg`), 'the orphan leg to exist');

      await stopFlowManager();
      await startFlowManager();
      await eventually(async () => (await channelIds()).length === 0 && (await telephony.bridges()).length === 1, 'only the customer bridge to be left', 15_000, 100);
      await rpcCall(stack.bus, 'flow-manager', 'DELETE', `/v1/bridges/${bridge.id}`, { customer_id: customerId });
      await nothingLeft();
    }, 90_000);
  });
}

describeRestart('simulator');
const skipReason = realAsteriskSkipReason();
if (skipReason) describe.skip(`flow-manager restarting mid-call (asterisk; skipped: ${skipReason})`, () => undefined);
else describeRestart('asterisk');
