import type { AddressInfo } from 'node:net';
import { OutboundPolicy, parseOutboundAllowList, type EventEnvelope, type Subscription } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeModes, useStack, type Stack } from './testing/stack.ts';
import { mulawTone, rms, sendTwilioAudio, slin16Tone, TestEngine, tone, twilioInbound, type Received } from '@avp/flow-manager/testing/external-media-engines';

interface StreamView {
  id: string;
  status: string;
  format: string;
  direction: string;
  url: string;
  stream_sid: string;
  bytes_sent: number;
  bytes_received: number;
  duration_ms: number;
  end_reason: string;
}

/** A call placed on the simulator into a number running `actions`, and its call record. */
async function placeCall(stack: Stack, actions: object[]) {
  const number = await stack.numberWithFlow(actions);
  const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15557770100' });
  let call: { id: string; activeflow_id: string } | undefined;
  await eventually(async () => {
    const calls = (await stack.api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string | null }[];
    const found = calls.find((entry) => entry.channel_id === caller.id && entry.activeflow_id);
    if (found) call = found as { id: string; activeflow_id: string };
    return found !== undefined;
  }, 'the call record', 10_000);
  return { caller, call: call! };
}

/** Call time (the caller's clock) of something the engine received. */
function callTime(caller: { startedAt: number }, entry: Received): number {
  return entry.at - caller.startedAt;
}

const afterStream = [
  { type: 'variable_set', option: { key: 'after_stream', value: 'yes' } },
  { type: 'block' },
];

/**
 * External media streams end to end: a flow connects a simulated call to a "third-party
 * engine" (a WebSocket server in the test) in Twilio's Media Streams format or Asterisk's
 * chan_websocket format; the engine hears the caller, answers with speech the caller hears,
 * clears its audio on barge-in, gets its marks back once played and the caller's DTMF, and
 * closing its socket lets the flow go on. 127.0.0.1 is allowed as an outbound host here.
 */
await describeModes('external media streams to a third-party engine', (mode) => {
  const stack = useStack({
    mode,
    name: 'external-media',
    pipelineManager: false,
    flowManager: { outbound: new OutboundPolicy(parseOutboundAllowList('127.0.0.1')) },
    // Stream minutes at 0.6 units a minute (BILLING_RATES' `external_media_per_minute`; 0 by default).
    aiManager: { billing: { rates: { default: { llm_input_per_1m_tokens: 1, llm_output_per_1m_tokens: 4, tts_per_1k_characters: 0.1, stt_per_minute: 0.01, external_media_per_minute: 0.6 } } } },
  });
  const events: EventEnvelope[] = [];
  /** The same events as ai-manager relays them to the customer (WebSocket topics, webhooks). */
  const relayed: EventEnvelope[] = [];
  const subscriptions: Subscription[] = [];
  beforeAll(async () => {
    const types = ['external_media_started', 'external_media_stopped'];
    const suffix = Math.random().toString(36).slice(2);
    subscriptions.push(await stack.bus.subscribe('flow-manager', types, async (event) => void events.push(event), { queue: `e2e.external-media-events.${suffix}`, temporary: true }));
    subscriptions.push(await stack.bus.subscribe('ai-manager', types, async (event) => void relayed.push(event), { queue: `e2e.external-media-relayed.${suffix}`, temporary: true }));
  });
  afterAll(async () => {
    for (const subscription of subscriptions) await subscription.close();
  });

  it('twilio: the engine hears the caller, speaks, clears on barge-in, gets marks and DTMF, and its close lets the flow go on', async () => {
    const engine = await TestEngine.listen();
    try {
      const { caller, call } = await placeCall(stack, [
        { type: 'answer' },
        { type: 'external_media_start', option: { url: engine.url, format: 'twilio', custom_parameters: { topic: 'support' } } },
        ...afterStream,
      ]);

      // connected, then start with the stream's identity and u-law 8 kHz.
      const start = await engine.waitFor(engine.event('start'), 'start');
      expect(engine.received[0]!.json).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
      const streamSid = start.json!.streamSid as string;
      expect(streamSid).toMatch(/^MZ[0-9a-f]{32}$/);
      expect(start.json).toMatchObject({
        sequenceNumber: '1',
        start: { streamSid, callSid: expect.stringMatching(/^CA/), tracks: ['inbound'], customParameters: { topic: 'support' }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
      });

      // Paced media: 20 ms of u-law per message, numbered without gaps, about 50 a second.
      await eventually(() => twilioInbound(engine).length >= 60, '60 media messages', 5000);
      const media = twilioInbound(engine).slice(5, 55);
      expect(media.every((frame) => frame.samples.length === 160)).toBe(true);
      expect(media.map((frame, index) => frame.chunk - index - media[0]!.chunk).every((offset) => offset === 0)).toBe(true);
      expect(media.map((frame, index) => frame.timestamp - index * 20 - media[0]!.timestamp).every((offset) => offset === 0)).toBe(true);
      const span = media.at(-1)!.at - media[0]!.at;
      expect(span).toBeGreaterThan(49 * 20 - 100);
      expect(span).toBeLessThan(49 * 20 + 100);

      // The caller speaks: the engine gets it.
      const beforeSpeech = engine.received.length;
      await caller.play(tone(0.6, 500, 16_000));
      await eventually(() => twilioInbound(engine, beforeSpeech).filter((frame) => rms(frame.samples) > 1000).length >= 20, "the caller's speech at the engine", 3000);

      // The engine answers with 1 s of speech and a mark: the caller hears it, and the mark comes back once it was played.
      const answerSentAt = caller.now();
      sendTwilioAudio(engine, streamSid, mulawTone(1, 440));
      engine.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'answer-1' } }));
      const heardAt = await caller.waitForAudio(3000);
      expect(heardAt - answerSentAt).toBeLessThan(200);
      const mark = await engine.waitFor((entry) => entry.json?.event === 'mark' && (entry.json.mark as { name: string }).name === 'answer-1', 'the mark', 5000);
      const heardUntil = await caller.waitForSilence(3000);
      expect(heardUntil - heardAt).toBeGreaterThan(900);
      expect(heardUntil - heardAt).toBeLessThan(1150);
      // Echoed after the last of the audio was heard (within a frame of mixing), not when it was queued.
      expect(callTime(caller, mark)).toBeGreaterThan(heardUntil - 40);
      expect(callTime(caller, mark)).toBeLessThan(heardUntil + 200);

      // Barge-in: a 4 s answer; the caller talks over it; the engine hears that and clears.
      const beforeLong = engine.received.length;
      sendTwilioAudio(engine, streamSid, mulawTone(4, 440));
      engine.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'long-answer' } }));
      await caller.waitForAudio(3000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const interruptionIndex = engine.received.length;
      void caller.interrupt(tone(0.5, 700, 16_000));
      const loud = await engine.waitFor(
        (entry) => entry.json?.event === 'media' && rms(twilioInbound({ received: [entry] } as TestEngine)[0]!.samples) > 1000,
        "the caller's interruption",
        3000,
        interruptionIndex,
      );
      expect(loud).toBeDefined();
      const clearedAt = caller.now();
      engine.send(JSON.stringify({ event: 'clear', streamSid }));
      const stoppedAt = await caller.waitForSilence(3000);
      // Within one frame, plus one tick of the media clock.
      expect(stoppedAt - clearedAt).toBeLessThanOrEqual(60);
      // The pending mark comes back at once on clear.
      const longMark = await engine.waitFor((entry) => entry.json?.event === 'mark' && (entry.json.mark as { name: string }).name === 'long-answer', 'the cleared mark', 1000, beforeLong);
      expect(callTime(caller, longMark) - clearedAt).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(caller.heardSegments.filter((segment) => segment.startMs > stoppedAt)).toEqual([]);

      // DTMF reaches the engine.
      await caller.sendDtmf('7');
      const dtmf = await engine.waitFor(engine.event('dtmf'), 'dtmf', 5000);
      expect(dtmf.json).toMatchObject({ streamSid, dtmf: { track: 'inbound_track', digit: '7' } });

      // The resource counts bytes both ways: everything the engine sent was received.
      const streaming = (await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView;
      expect(streaming).toMatchObject({ status: 'streaming', format: 'twilio', direction: 'dial_out', url: engine.url, stream_sid: streamSid, bytes_received: 8000 + 32_000 });
      expect(streaming.bytes_sent).toBeGreaterThan(160 * 100);
      expect(streaming.duration_ms).toBeGreaterThan(2000);
      const sequenceNumbers = engine.received.slice(1).map((entry) => Number(entry.json!.sequenceNumber));
      expect(sequenceNumbers.every((value, index) => value === index + 1)).toBe(true);

      // The engine hangs up its socket: the stream ends and the flow goes on.
      engine.socket!.close(1000);
      await eventually(async () => {
        const activeflow = await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`);
        return (activeflow.variables as Record<string, string>).after_stream === 'yes';
      }, 'the flow to go on after the stream', 10_000);
      const ended = (await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView;
      expect(ended).toMatchObject({ id: streaming.id, status: 'ended', end_reason: 'the engine closed its socket' });
      const activeflow = await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`);
      expect((activeflow.variables as Record<string, string>)['voipbin.external_media.id']).toBe(streaming.id);
      await eventually(() => events.filter((event) => (event.data as { id: string }).id === streaming.id).length === 2, 'the started and stopped events', 5000);
      expect(events.filter((event) => (event.data as { id: string }).id === streaming.id).map((event) => event.type)).toEqual(['external_media_started', 'external_media_stopped']);
      await eventually(() => relayed.filter((event) => (event.data as { id: string }).id === streaming.id).length === 2, 'the events relayed to the customer', 5000);
      // The stream's minutes are billed once, at their own rate.
      const account = ((await stack.api('GET', '/v1.0/billing-accounts')).result as { id: string }[])[0]!;
      const streamUsage = async () =>
        ((await stack.api('GET', `/v1.0/billing-accounts/${account.id}/ledger?page_size=100`)).result as { usage_id: string | null; usage_kind: string; provider: string; audio_seconds: number; amount: number }[]).filter((entry) => entry.usage_id === streaming.id);
      await eventually(async () => (await streamUsage()).length === 1, 'the stream to be billed', 5000);
      const billed = (await streamUsage())[0]!;
      expect(billed).toMatchObject({ usage_kind: 'external_media', provider: 'external_media.twilio', audio_seconds: ended.duration_ms / 1000 });
      // 0.6 units a minute = 10 micro-units a millisecond.
      expect(billed.amount).toBe(-ended.duration_ms * 10);
      expect(relayed.find((event) => event.type === 'external_media_stopped' && (event.data as { id: string }).id === streaming.id)?.data).toMatchObject({ status: 'ended', call_id: call.id, bytes_received: 40_000 });
      caller.hangup();
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('asterisk: slin16 frames and chan_websocket commands (MARK_MEDIA, FLUSH_MEDIA, GET_STATUS), DTMF_END, and the flow goes on', async () => {
    const engine = await TestEngine.listen();
    try {
      const { caller, call } = await placeCall(stack, [{ type: 'answer' }, { type: 'external_media_start', option: { url: engine.url, format: 'asterisk' } }, ...afterStream]);
      const start = await engine.waitFor((entry) => entry.text?.startsWith('MEDIA_START') ?? false, 'MEDIA_START');
      expect(start.text).toMatch(new RegExp(`^MEDIA_START connection_id:[0-9a-f-]{36} channel:WebSocket/${call.id} channel_id:${call.id} format:slin16 optimal_frame_size:640 ptime:20$`));
      const frames = () => engine.received.filter((entry) => entry.binary);
      await eventually(() => frames().length >= 60, '60 frames', 5000);
      const paced = frames().slice(5, 55);
      expect(paced.every((entry) => entry.binary!.length === 640)).toBe(true);
      const span = paced.at(-1)!.at - paced[0]!.at;
      expect(span).toBeGreaterThan(49 * 20 - 100);
      expect(span).toBeLessThan(49 * 20 + 100);
      const samplesOf = (entry: Received) => new Int16Array(entry.binary!.buffer.slice(entry.binary!.byteOffset, entry.binary!.byteOffset + entry.binary!.length));

      const beforeSpeech = engine.received.length;
      await caller.play(tone(0.6, 500, 16_000));
      await eventually(() => engine.received.slice(beforeSpeech).filter((entry) => entry.binary && rms(samplesOf(entry)) > 1000).length >= 20, "the caller's speech at the engine", 3000);

      // An answer in one big binary message, then a mark: processed once played.
      const answerSentAt = caller.now();
      engine.send(slin16Tone(1, 440));
      engine.send('MARK_MEDIA a1');
      const heardAt = await caller.waitForAudio(3000);
      expect(heardAt - answerSentAt).toBeLessThan(200);
      const processed = await engine.waitFor((entry) => entry.text === 'MEDIA_MARK_PROCESSED a1', 'MEDIA_MARK_PROCESSED a1', 5000);
      const heardUntil = await caller.waitForSilence(3000);
      expect(heardUntil - heardAt).toBeGreaterThan(900);
      expect(callTime(caller, processed)).toBeGreaterThan(heardUntil - 40);
      expect(callTime(caller, processed)).toBeLessThan(heardUntil + 200);

      // FLUSH_MEDIA on barge-in stops what the caller hears within a frame.
      engine.send(slin16Tone(4, 440));
      await caller.waitForAudio(3000);
      await new Promise((resolve) => setTimeout(resolve, 400));
      engine.send('GET_STATUS');
      const status = await engine.waitFor((entry) => entry.text?.startsWith('STATUS ') ?? false, 'STATUS', 2000);
      const queued = Number(/queue_length:(\d+)/.exec(status.text!)![1]);
      expect(queued).toBeGreaterThan(100);
      void caller.interrupt(tone(0.5, 700, 16_000));
      const flushedAt = caller.now();
      engine.send('FLUSH_MEDIA');
      const stoppedAt = await caller.waitForSilence(3000);
      expect(stoppedAt - flushedAt).toBeLessThanOrEqual(60);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(caller.heardSegments.filter((segment) => segment.startMs > stoppedAt)).toEqual([]);

      await caller.sendDtmf('4');
      await engine.waitFor((entry) => entry.text === `DTMF_END digit:4 channel_id:${call.id}`, 'DTMF_END', 5000);

      const streaming = (await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView;
      expect(streaming).toMatchObject({ status: 'streaming', format: 'asterisk', stream_sid: '', bytes_received: 32_000 + 128_000 });

      engine.socket!.close(1000);
      await eventually(async () => ((await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).variables as Record<string, string>).after_stream === 'yes', 'the flow to go on', 10_000);
      expect(await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)).toMatchObject({ status: 'ended', end_reason: 'the engine closed its socket' });
      caller.hangup();
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('dial_in: the engine connects with a one-time token, and the call ending sends stop and closes the socket', async () => {
    const { caller, call } = await placeCall(stack, [{ type: 'answer' }, { type: 'block' }]);
    const created = (await stack.api('POST', `/v1.0/calls/${call.id}/external-media`, { direction: 'dial_in', format: 'twilio' })) as unknown as StreamView;
    expect(created).toMatchObject({ status: 'connecting', direction: 'dial_in' });
    // The API was reached through inject (host "localhost:80"): point the URL at the listening server.
    const url = new URL(created.url);
    expect(url.pathname).toBe(`/v1.0/calls/${call.id}/external-media/${created.id}/socket`);
    expect(url.searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{32}$/);
    url.host = `127.0.0.1:${(stack.app.server.address() as AddressInfo).port}`;

    // A wrong token is refused.
    const wrong = new URL(url);
    wrong.searchParams.set('token', 'x'.repeat(32));
    const intruder = await TestEngine.dial(wrong.toString());
    expect(await intruder.closed()).toBe(1008);

    const engine = await TestEngine.dial(url.toString());
    try {
      const start = await engine.waitFor(engine.event('start'), 'start');
      const streamSid = start.json!.streamSid as string;
      await eventually(async () => ((await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView).status === 'streaming', 'streaming', 5000);
      // The token worked once.
      const again = await TestEngine.dial(url.toString());
      expect(await again.closed()).toBe(1008);

      sendTwilioAudio(engine, streamSid, mulawTone(0.5, 440));
      await caller.waitForAudio(3000);
      await caller.play(tone(0.4, 500, 16_000));
      await eventually(() => twilioInbound(engine).filter((frame) => rms(frame.samples) > 1000).length >= 10, 'the caller at the engine', 3000);

      caller.hangup();
      const stop = await engine.waitFor(engine.event('stop'), 'stop', 5000);
      expect(stop.json).toMatchObject({ streamSid, stop: { callSid: start.json!.start && (start.json!.start as { callSid: string }).callSid } });
      await engine.closed();
      await eventually(async () => ((await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView).status === 'ended', 'ended', 5000);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('with wait: false the flow goes on at once, and external_media_stop ends the stream', async () => {
    const engine = await TestEngine.listen();
    try {
      const { caller, call } = await placeCall(stack, [
        { type: 'answer' },
        { type: 'external_media_start', option: { url: engine.url, wait: false } },
        { type: 'digits_receive', option: { duration: 20_000, length: 2 } },
        { type: 'external_media_stop' },
        ...afterStream,
      ]);
      await engine.waitFor(engine.event('start'), 'start');
      await eventually(async () => ((await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).current_action as { type: string } | null)?.type === 'digits_receive', 'the flow to go on at once', 5000);
      // Digits reach both the engine and the flow; the flow's second digit stops the stream.
      await caller.sendDtmf('9');
      await engine.waitFor((entry) => entry.json?.event === 'dtmf', 'dtmf', 5000);
      expect(engine.received.some((entry) => entry.json?.event === 'stop')).toBe(false);
      await caller.sendDtmf('#');
      await engine.waitFor(engine.event('stop'), 'stop', 5000);
      await engine.closed();
      await eventually(async () => ((await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).variables as Record<string, string>).after_stream === 'yes', 'the flow to go on', 10_000);
      expect(await stack.api('GET', `/v1.0/calls/${call.id}/external-media`)).toMatchObject({ status: 'ended', end_reason: 'external_media_stop' });
      caller.hangup();
    } finally {
      await engine.close();
    }
  }, 30_000);

  it('stops over the API, and refuses a second stream on a call or a dial_out without url', async () => {
    const engine = await TestEngine.listen();
    try {
      const { caller, call } = await placeCall(stack, [{ type: 'answer' }, { type: 'block' }]);
      const missing = await stack.request('POST', `/v1.0/calls/${call.id}/external-media`, { body: { format: 'twilio' } });
      expect(missing.status).toBe(400);
      const started = (await stack.api('POST', `/v1.0/calls/${call.id}/external-media`, { url: engine.url })) as unknown as StreamView;
      expect(started).toMatchObject({ status: 'streaming', format: 'twilio', direction: 'dial_out' });
      expect((await stack.request('POST', `/v1.0/calls/${call.id}/external-media`, { body: { url: engine.url } })).status).toBe(409);
      const stopped = (await stack.api('DELETE', `/v1.0/calls/${call.id}/external-media`)) as unknown as StreamView;
      expect(stopped).toMatchObject({ status: 'ended', end_reason: 'stopped through the API' });
      await engine.waitFor(engine.event('stop'), 'stop', 5000);
      await engine.closed();
      // Another customer sees nothing of it.
      const other = stack.apiAs(await stack.createCustomer('external-media-other'));
      await expect(other('GET', `/v1.0/calls/${call.id}/external-media`)).rejects.toThrow(/404/);
      caller.hangup();
    } finally {
      await engine.close();
    }
  }, 30_000);
});

/** Without the operator's allowance, an engine on an internal address is refused like a webhook URL. */
await describeModes('external media streams to internal addresses', (mode) => {
  const stack = useStack({ mode, name: 'external-media-ssrf', pipelineManager: false });

  it('refuses an internal engine URL when a flow is saved and when a stream is requested (400)', async () => {
    const saved = await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'answer' }, { type: 'external_media_start', option: { url: 'ws://127.0.0.1:9/engine' } }] } });
    expect(saved.status).toBe(400);
    expect(JSON.stringify(saved.body)).toContain('actions[1] (external_media_start): option.url');
    const privateAddress = await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'external_media_start', option: { url: 'wss://10.1.2.3/engine', format: 'asterisk' } }] } });
    expect(privateAddress.status).toBe(400);
    // A dial_out needs its URL, a dial_in gets one from the platform.
    expect((await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'external_media_start', option: {} }] } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'external_media_start', option: { direction: 'dial_in', url: 'wss://example.com/' } }] } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'external_media_start', option: { direction: 'dial_in', format: 'asterisk' } }] } })).status).toBe(200);

    const { caller, call } = await placeCall(stack, [{ type: 'answer' }, { type: 'block' }]);
    const refused = await stack.request('POST', `/v1.0/calls/${call.id}/external-media`, { body: { url: 'ws://169.254.169.254/latest' } });
    expect(refused.status).toBe(400);
    expect((refused.body as { error: { message: string } }).error.message).toMatch(/^url: /);
    expect((await stack.request('POST', `/v1.0/calls/${call.id}/external-media`, { body: { url: 'http://example.com/engine' } })).status).toBe(400);
    expect((await stack.request('GET', `/v1.0/calls/${call.id}/external-media`)).status).toBe(404);
    caller.hangup();
  });
});
