import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { realAsteriskSkipReason, startTestTelephony, type TelephonyKind, type TestTelephony } from '@avp/asterisk-testing';
import { appError, createHttpServer, createMetricsRegistry, createRpcRouter, OutboundPolicy, parseOutboundAllowList, silentLogger } from '@avp/shared';
import { eventually, freePort } from '@avp/shared/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlowManager, type FlowManager } from '../app.ts';
import { embeddedTelephonyStack, type TelephonyStack } from '../testing/telephony-suite.ts';
import { mulawTone, rms, sendTwilioAudio, slin16Tone, TestEngine, tone, twilioInbound } from '../testing/external-media-engines.ts';

const customerId = randomUUID();
const key = `key-${randomUUID()}`;

/**
 * External media streams through the telephony itself, in Twilio's format and in Asterisk's own:
 * the simulator, and a real Asterisk 23.4.1 (its chan_websocket leg in u-law or slin16,
 * MARK_MEDIA, FLUSH_MEDIA) when one is built.
 */
function describeStream(kind: TelephonyKind): void {
  describe(`an external media stream in Twilio's format through ${kind === 'asterisk' ? 'a real Asterisk' : 'the simulator'}`, () => {
    let stack: TelephonyStack;
    let telephony: TestTelephony;
    let flowManager: FlowManager;
    let app: FastifyInstance;
    const ariApp = `avp-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      stack = await embeddedTelephonyStack();
      telephony = await startTestTelephony(kind, { ariApp, ariUser: 'asterisk', ariPassword: 'secret' });
      const aiManager = createRpcRouter().add('POST', '/v1/accesskeys/verify', async ({ data }) => {
        if ((data as { key: string }).key !== key) throw appError('INVALID_CREDENTIALS');
        return { customer_id: customerId };
      });
      await stack.bus.serve('ai-manager', aiManager.handle, { shared: true });
      const port = await freePort();
      flowManager = await createFlowManager(
        { database: stack.database, bus: stack.bus, logger: silentLogger(), metrics: createMetricsRegistry(), instanceId: `external-media-${port}` },
        {
          ari: { connection: { url: telephony.url, user: 'asterisk', password: 'secret', app: ariApp }, mediaBaseUrl: `http://127.0.0.1:${port}`, telDialTemplate: telephony.telDialTemplate },
          outbound: new OutboundPolicy(parseOutboundAllowList('127.0.0.1')),
        },
      );
      app = createHttpServer({ logger: silentLogger() });
      await flowManager.registerRoutes(app);
      await app.listen({ port, host: '127.0.0.1' });
      await flowManager.start();
      await telephony.waitForApp();
    }, 60_000);

    afterAll(async () => {
      await flowManager?.stop();
      await app?.close();
      await telephony?.close();
      await stack?.cleanup();
    });

    async function api(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<Record<string, unknown>> {
      const response = await app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, ...(body ? { payload: body as object } : {}) });
      return response.json() as Record<string, unknown>;
    }

    it('carries the caller to the engine and the engine to the caller, with marks, clear, DTMF and the flow going on', async () => {
      const engine = await TestEngine.listen();
      try {
        const flow = await api('POST', '/v1.0/flows', {
          actions: [
            { type: 'answer' },
            { type: 'external_media_start', option: { url: engine.url, format: 'twilio' } },
            { type: 'variable_set', option: { key: 'after_stream', value: 'yes' } },
            { type: 'block' },
          ],
        });
        const number = `+1${Math.floor(Math.random() * 1e10)}`;
        await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
        const caller = telephony.placeCall({ extension: number });
        const start = await engine.waitFor(engine.event('start'), 'start', 15_000);
        const streamSid = start.json!.streamSid as string;
        const calls = (await api('GET', '/v1.0/calls?page_size=100')) as { result: { id: string; channel_id: string; activeflow_id: string }[] };
        const call = calls.result.find((entry) => entry.channel_id === caller.id)!;

        // The caller's speech reaches the engine as 20 ms u-law frames.
        const beforeSpeech = engine.received.length;
        await caller.play(tone(0.6, 500, 16_000));
        await eventually(() => twilioInbound(engine, beforeSpeech).filter((frame) => rms(frame.samples) > 1000).length >= 15, "the caller's speech at the engine", 5000);
        expect(twilioInbound(engine).every((frame) => frame.samples.length === 160)).toBe(true);

        // The engine's answer is heard, and its mark comes back once it was played.
        const answerSentAt = caller.now();
        sendTwilioAudio(engine, streamSid, mulawTone(1, 440));
        engine.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'answer-1' } }));
        const heardAt = await caller.waitForAudio(3000);
        const mark = await engine.waitFor((entry) => entry.json?.event === 'mark', 'the mark', 5000);
        const heardUntil = await caller.waitForSilence(3000);
        expect(heardUntil - heardAt).toBeGreaterThan(850);
        // Asterisk reports a mark once the audio before it left its queue, i.e. after the whole
        // second was played (not when it was queued); the test phone hears it a little later
        // (the bridge, its Local channel: 18-38 ms on an idle machine, more under load).
        expect(mark.at - caller.startedAt - answerSentAt).toBeGreaterThan(950);
        expect(mark.at - caller.startedAt).toBeLessThan(heardUntil + 200);

        // clear during a long answer: the caller stops hearing it within a couple of frames.
        sendTwilioAudio(engine, streamSid, mulawTone(4, 440));
        await caller.waitForAudio(3000);
        await new Promise((resolve) => setTimeout(resolve, 400));
        const clearedAt = caller.now();
        engine.send(JSON.stringify({ event: 'clear', streamSid }));
        const stoppedAt = await caller.waitForSilence(3000);
        expect(stoppedAt - clearedAt).toBeLessThanOrEqual(80);

        await caller.sendDtmf('3');
        await engine.waitFor((entry) => entry.json?.event === 'dtmf' && (entry.json.dtmf as { digit: string }).digit === '3', 'dtmf', 5000);

        engine.socket!.close(1000);
        await eventually(async () => ((await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).variables as Record<string, string>).after_stream === 'yes', 'the flow to go on', 10_000);
        expect(await api('GET', `/v1.0/calls/${call.id}/external-media`)).toMatchObject({ status: 'ended', end_reason: 'the engine closed its socket', bytes_received: 40_000 });
        // Nothing of the stream is left in Asterisk: only the caller's own channel.
        await eventually(async () => (await telephony.channels()).every((channel) => !channel.id.startsWith('media-')), 'the media leg to be gone', 5000);
        caller.hangup();
      } finally {
        await engine.close();
      }
    }, 60_000);

    it('carries slin16 both ways in Asterisk\'s own format, with MARK_MEDIA answered once played and FLUSH_MEDIA at once', async () => {
      const engine = await TestEngine.listen();
      try {
        const flow = await api('POST', '/v1.0/flows', {
          actions: [{ type: 'answer' }, { type: 'external_media_start', option: { url: engine.url, format: 'asterisk' } }, { type: 'variable_set', option: { key: 'after_stream', value: 'yes' } }, { type: 'block' }],
        });
        const number = `+1${Math.floor(Math.random() * 1e10)}`;
        await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
        const caller = telephony.placeCall({ extension: number });
        await engine.waitFor((entry) => entry.text?.startsWith('MEDIA_START') ?? false, 'MEDIA_START', 15_000);
        const calls = (await api('GET', '/v1.0/calls?page_size=100')) as { result: { id: string; channel_id: string; activeflow_id: string }[] };
        const call = calls.result.find((entry) => entry.channel_id === caller.id)!;
        const samplesOf = (bytes: Buffer) => new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));

        // The caller's speech reaches the engine as 20 ms slin16 frames.
        const beforeSpeech = engine.received.length;
        await caller.play(tone(0.6, 500, 16_000));
        await eventually(() => engine.received.slice(beforeSpeech).filter((entry) => entry.binary && rms(samplesOf(entry.binary)) > 1000).length >= 15, "the caller's speech at the engine", 5000);
        expect(engine.received.filter((entry) => entry.binary).every((entry) => entry.binary!.length === 640)).toBe(true);

        // An answer, then a mark: processed once the answer was played, not when it was queued.
        const answerSentAt = caller.now();
        engine.send(slin16Tone(1, 440));
        engine.send('MARK_MEDIA a1');
        const heardAt = await caller.waitForAudio(3000);
        const processed = await engine.waitFor((entry) => entry.text === 'MEDIA_MARK_PROCESSED a1', 'MEDIA_MARK_PROCESSED a1', 5000);
        const heardUntil = await caller.waitForSilence(3000);
        expect(heardUntil - heardAt).toBeGreaterThan(850);
        expect(processed.at - caller.startedAt - answerSentAt).toBeGreaterThan(950);

        // FLUSH_MEDIA during a long answer: the caller stops hearing it within a couple of frames.
        engine.send(slin16Tone(4, 440));
        await caller.waitForAudio(3000);
        await new Promise((resolve) => setTimeout(resolve, 400));
        const flushedAt = caller.now();
        engine.send('FLUSH_MEDIA');
        const stoppedAt = await caller.waitForSilence(3000);
        expect(stoppedAt - flushedAt).toBeLessThanOrEqual(80);

        engine.socket!.close(1000);
        await eventually(async () => ((await api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).variables as Record<string, string>).after_stream === 'yes', 'the flow to go on', 10_000);
        expect(await api('GET', `/v1.0/calls/${call.id}/external-media`)).toMatchObject({ status: 'ended', format: 'asterisk', end_reason: 'the engine closed its socket' });
        caller.hangup();
      } finally {
        await engine.close();
      }
    }, 60_000);

    it('admits a dial_in engine with its token on flow-manager\'s own server, and refuses other upgrades', async () => {
      const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'block' }] });
      const number = `+1${Math.floor(Math.random() * 1e10)}`;
      await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
      const caller = telephony.placeCall({ extension: number });
      let call: { id: string } | undefined;
      await eventually(async () => {
        const calls = (await api('GET', '/v1.0/calls?page_size=100')) as { result: { id: string; channel_id: string; status: string }[] };
        call = calls.result.find((entry) => entry.channel_id === caller.id && entry.status === 'progressing');
        return call !== undefined;
      }, 'the answered call', 10_000);
      const created = (await api('POST', `/v1.0/calls/${call!.id}/external-media`, { direction: 'dial_in' })) as { url: string };
      const url = new URL(created.url);
      url.host = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      // A plain GET of the socket's path, and an upgrade to a path nobody serves, are refused.
      expect((await app.inject({ method: 'GET', url: `${url.pathname}${url.search}` })).statusCode).toBe(400);
      await expect(TestEngine.dial(`ws://${url.host}/v1.0/elsewhere`)).rejects.toThrow();

      const engine = await TestEngine.dial(url.toString());
      try {
        const start = await engine.waitFor(engine.event('start'), 'start', 15_000);
        sendTwilioAudio(engine, start.json!.streamSid as string, mulawTone(0.5, 440));
        await caller.waitForAudio(3000);
        expect(await api('DELETE', `/v1.0/calls/${call!.id}/external-media`)).toMatchObject({ status: 'ended', end_reason: 'stopped through the API', url: '' });
        await engine.waitFor(engine.event('stop'), 'stop', 5000);
        await engine.closed();
        caller.hangup();
      } finally {
        await engine.close();
      }
    }, 60_000);
  });
}

describeStream('simulator');
const skipReason = realAsteriskSkipReason();
if (skipReason) describe.skip(`an external media stream through a real Asterisk (skipped: ${skipReason})`, () => undefined);
else describeStream('asterisk');
