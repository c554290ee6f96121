import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sineTone } from './media/wav.ts';
import { rms } from './media/codecs.ts';
import { startAsteriskSimulator, type AsteriskSimulator } from './simulator.ts';
import { PlainAriClient, type EventStream } from './testing/plain-ari-client.ts';

let simulator: AsteriskSimulator;
let ari: PlainAriClient;
let events: EventStream;

beforeEach(async () => {
  simulator = await startAsteriskSimulator({ ariUser: 'user', ariPassword: 'secret' });
  ari = new PlainAriClient(simulator.url, 'user', 'secret');
  events = await ari.events('test');
});

afterEach(async () => {
  events.close();
  await simulator.close();
});

describe('ARI REST', () => {
  it('requires credentials, by basic auth or api_key', async () => {
    const anonymous = await fetch(`${simulator.url}/ari/asterisk/info`);
    expect(anonymous.status).toBe(401);
    const wrong = await new PlainAriClient(simulator.url, 'user', 'nope').request('GET', '/asterisk/info');
    expect(wrong.status).toBe(401);
    const byKey = await fetch(`${simulator.url}/ari/asterisk/info?api_key=user:secret`);
    expect(byKey.status).toBe(200);
    const info = (await byKey.json()) as { system: { version: string }; build: object; config: object; status: object };
    expect(Object.keys(info).sort()).toEqual(['build', 'config', 'status', 'system']);
    expect(info.system.version).toMatch(/^23\./);
  });

  it('answers unknown channels, bridges and playbacks with 404 like Asterisk', async () => {
    expect(await ari.request('GET', '/channels/1234.5')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await ari.request('DELETE', '/channels/1234.5')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await ari.request('POST', '/channels/1234.5/answer')).toEqual({ status: 404, body: { message: 'Channel not found' } });
    expect(await ari.request('GET', '/bridges/nope')).toEqual({ status: 404, body: { message: 'Bridge not found' } });
    expect(await ari.request('GET', '/playbacks/nope')).toEqual({ status: 404, body: { message: 'Playback not found' } });
    expect(await ari.request('POST', '/channels', { endpoint: 'PJSIP/100' })).toEqual({
      status: 400,
      body: { message: 'Application or extension must be specified' },
    });
  });

  it('originates into the app: Dial, Ringing, Dial RINGING, Up, Dial ANSWER, StasisStart with args', async () => {
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/alice', app: 'test', appArgs: 'out,42', callerId: '"Bot" <555>' });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ state: 'Down', caller: { name: 'Bot', number: '555' }, dialplan: { app_name: 'AppDial2' } });
    expect(Object.keys(created.body).sort()).toEqual(
      ['accountcode', 'caller', 'connected', 'creationtime', 'dialplan', 'id', 'language', 'name', 'protocol_id', 'state'].sort(),
    );
    const id = created.body.id as string;
    const start = await events.next('StasisStart', (event) => (event.channel as { id: string }).id === id);
    expect(start.args).toEqual(['out', '42']);
    expect(start).toMatchObject({ application: 'test', channel: { state: 'Up', dialplan: { app_name: 'Stasis', app_data: 'test,out,42' } } });
    expect(start.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/);
    expect(events.typesFor(id)).toEqual(['Dial', 'ChannelStateChange', 'Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart']);
    const dials = events.all.filter((event) => event.type === 'Dial');
    expect(dials.map((event) => event.dialstatus)).toEqual(['', 'RINGING', 'ANSWER']);
  });

  it('creates a channel into the app at once and dials it later (/channels/create + /dial)', async () => {
    const created = await ari.request('POST', '/channels/create', { endpoint: 'PJSIP/bob', app: 'test', appArgs: 'leg' });
    expect(created.status).toBe(200);
    const id = created.body.id as string;
    expect(await events.next('StasisStart')).toMatchObject({ args: ['leg'], channel: { id, state: 'Down' } });
    const called = simulator.nextOutboundCall();
    expect((await ari.request('POST', `/channels/${id}/dial`)).status).toBe(204);
    expect((await called).id).toBe(id);
    await events.next('Dial', (event) => event.dialstatus === 'ANSWER');
    expect(events.typesFor(id)).toEqual(['ChannelVarset', 'StasisStart', 'Dial', 'ChannelStateChange', 'Dial', 'ChannelStateChange', 'Dial']);
    expect((await ari.request('POST', `/channels/${id}/dial`)).status).toBe(409);
  });

  it('places an inbound call, answers it, reports DTMF, and ends an ARI hang-up at StasisEnd', async () => {
    const caller = simulator.placeCall({ app: 'test', args: ['inbound'], callerNumber: '+15551234' });
    const start = await events.next('StasisStart');
    expect(start).toMatchObject({ args: ['inbound'], channel: { id: caller.id, state: 'Ring', caller: { number: '+15551234' } } });

    expect((await ari.request('POST', `/channels/${caller.id}/answer`)).status).toBe(204);
    await caller.waitForAnswer();
    await caller.sendDtmf('1');
    await caller.sendDtmf('#', 250);
    const first = await events.next('ChannelDtmfReceived');
    const second = await events.next('ChannelDtmfReceived');
    expect([first.digit, first.duration_ms, second.digit, second.duration_ms]).toEqual(['1', 100, '#', 250]);

    expect((await ari.request('DELETE', `/channels/${caller.id}`, { reason: 'busy' })).status).toBe(204);
    expect(await events.next('ChannelHangupRequest')).toMatchObject({ cause: 32, soft: true });
    await events.next('StasisEnd');
    // A channel that came from the dialplan joins the application at StasisStart (the
    // STASISSTATUS ChannelVarset before it is not sent to the app) and leaves it at StasisEnd:
    // no ChannelDestroyed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.typesFor(caller.id)).toEqual([
      'StasisStart',
      'ChannelStateChange',
      'ChannelDtmfReceived',
      'ChannelDtmfReceived',
      'ChannelHangupRequest',
      'StasisEnd',
    ]);
    expect(caller.ended).toBe(true);
    expect((await ari.request('GET', `/channels/${caller.id}`)).status).toBe(404);
  });

  it('reports a caller hang-up as one hard ChannelHangupRequest (cause 16, no cause_txt), then ChannelLeftBridge and StasisEnd', async () => {
    const caller = simulator.placeCall({ app: 'test' });
    await events.next('StasisStart');
    await ari.request('POST', `/channels/${caller.id}/answer`);
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
    await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: caller.id });
    await events.next('ChannelEnteredBridge');
    caller.hangup();
    const request = await events.next('ChannelHangupRequest');
    expect(request.cause).toBe(16);
    expect(request).not.toHaveProperty('soft');
    expect(request).not.toHaveProperty('cause_txt');
    await events.next('StasisEnd');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events.typesFor(caller.id).slice(-3)).toEqual(['ChannelHangupRequest', 'ChannelLeftBridge', 'StasisEnd']);
  });

  it('keeps a channel the application originated subscribed to the end: ChannelDestroyed with the hang-up reason', async () => {
    const created = await ari.request('POST', '/channels', { endpoint: 'PJSIP/carol', app: 'test' });
    const id = created.body.id as string;
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === id);
    expect((await ari.request('DELETE', `/channels/${id}`, { reason: 'busy' })).status).toBe(204);
    expect(await events.next('ChannelDestroyed')).toMatchObject({ cause: 17, cause_txt: 'User busy' });
    expect(events.typesFor(id).slice(-4)).toEqual(['ChannelHangupRequest', 'StasisEnd', 'ChannelVarset', 'ChannelDestroyed']);
    expect(events.all.find((event) => event.type === 'ChannelHangupRequest')).toMatchObject({ cause: 32, soft: true });
  });

  it('accepts originator or formats on originate and refuses them together, as Asterisk does', async () => {
    const caller = simulator.placeCall({ app: 'test' });
    await events.next('StasisStart');
    expect((await ari.request('POST', '/channels', { endpoint: 'PJSIP/dave', app: 'test', originator: caller.id })).status).toBe(200);
    expect((await ari.request('POST', '/channels', { endpoint: 'PJSIP/erin', app: 'test', formats: 'ulaw, slin16' })).status).toBe(200);
    expect(await ari.request('POST', '/channels', { endpoint: 'PJSIP/x', app: 'test', originator: caller.id, formats: 'ulaw' })).toEqual({
      status: 400,
      body: { message: "Originator and formats can't both be specified" },
    });
    expect(await ari.request('POST', '/channels', { endpoint: 'PJSIP/x', app: 'test', originator: 'nope' })).toEqual({
      status: 400,
      body: { message: 'Provided originator channel was not found' },
    });
    expect(await ari.request('POST', '/channels', { endpoint: 'PJSIP/x', app: 'test', formats: 'ulaw,bogus' })).toEqual({
      status: 400,
      body: { message: 'Provided format (bogus) was not found' },
    });
  });

  it('refuses a call into an application nobody serves', () => {
    expect(() => simulator.placeCall({ app: 'nobody' })).toThrow(/not registered/);
  });

  it('bridges two channels so that audio crosses, with bridge events', async () => {
    const alice = simulator.placeCall({ app: 'test', callerNumber: '1001' });
    const bob = simulator.placeCall({ app: 'test', callerNumber: '1002' });
    await ari.request('POST', `/channels/${alice.id}/answer`);
    await ari.request('POST', `/channels/${bob.id}/answer`);
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing', name: 'call' });
    expect(bridge.body).toMatchObject({ bridge_type: 'mixing', bridge_class: 'stasis', technology: 'simple_bridge', channels: [] });
    const bridgeId = bridge.body.id as string;
    expect((await ari.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${alice.id},${bob.id}` })).status).toBe(204);
    const entered = await events.next('ChannelEnteredBridge', (event) => (event.channel as { id: string }).id === bob.id);
    expect((entered.bridge as { channels: string[] }).channels).toEqual([alice.id, bob.id]);

    const tone = sineTone(440, 300);
    const heard = bob.waitForAudio();
    await alice.play(tone);
    await heard;
    await bob.waitForSilence();
    const recording = bob.recording();
    let loudFrames = 0;
    for (let offset = 0; offset + 320 <= recording.length; offset += 320) {
      if (rms(recording.subarray(offset, offset + 320)) > 1000) loudFrames += 1;
    }
    expect(loudFrames).toBe(15);
    // Alice never hears herself.
    expect(alice.heardSegments).toEqual([]);

    expect((await ari.request('POST', `/bridges/${bridgeId}/removeChannel`, { channel: alice.id })).status).toBe(204);
    await events.next('ChannelLeftBridge');
    expect((await ari.request('POST', `/bridges/${bridgeId}/removeChannel`, { channel: alice.id })).status).toBe(422);
    expect((await ari.request('DELETE', `/bridges/${bridgeId}`)).status).toBe(204);
    await events.next('ChannelLeftBridge');
    await events.next('BridgeDestroyed');
  });

  it('plays media to a channel with PlaybackStarted and PlaybackFinished', async () => {
    simulator.addSound('hello', sineTone(600, 200));
    const caller = simulator.placeCall({ app: 'test' });
    await ari.request('POST', `/channels/${caller.id}/answer`);
    const played = await ari.request('POST', `/channels/${caller.id}/play`, { media: 'sound:hello' });
    expect(played.status).toBe(201);
    expect(played.body).toMatchObject({ media_uri: 'sound:hello', target_uri: `channel:${caller.id}`, language: 'en', state: 'queued' });
    expect((await events.next('PlaybackStarted')).playback).toMatchObject({ id: played.body.id, state: 'playing' });
    expect((await events.next('PlaybackFinished')).playback).toMatchObject({ id: played.body.id, state: 'done' });
    await caller.waitForSilence();
    expect(caller.heardSegments).toHaveLength(1);

    const missing = await ari.request('POST', `/channels/${caller.id}/play`, { media: 'sound:no-such-file' });
    expect(missing.status).toBe(201);
    expect((await events.next('PlaybackStarted')).playback).toMatchObject({ id: missing.body.id, state: 'playing' });
    expect((await events.next('PlaybackFinished')).playback).toMatchObject({ id: missing.body.id, state: 'failed' });
  });

  it('sets and reads channel variables', async () => {
    const caller = simulator.placeCall({ app: 'test' });
    expect((await ari.request('POST', `/channels/${caller.id}/variable`, { variable: 'GREETING', value: 'hi' })).status).toBe(204);
    expect(await ari.request('GET', `/channels/${caller.id}/variable`, { variable: 'GREETING' })).toEqual({ status: 200, body: { value: 'hi' } });
    expect((await ari.request('GET', `/channels/${caller.id}/variable`, { variable: 'NOPE' })).status).toBe(404);
    expect(await events.next('ChannelVarset', (event) => event.variable === 'GREETING')).toMatchObject({ value: 'hi' });
  });

  it('snoops on a channel: the snoop channel hears what the caller says', async () => {
    const caller = simulator.placeCall({ app: 'test' });
    const listener = simulator.placeCall({ app: 'test' });
    await ari.request('POST', `/channels/${caller.id}/answer`);
    await ari.request('POST', `/channels/${listener.id}/answer`);
    const snoop = await ari.request('POST', `/channels/${caller.id}/snoop`, { app: 'test', spy: 'in' });
    expect(snoop.status).toBe(200);
    expect(snoop.body.name).toMatch(/^Snoop\//);
    await events.next('StasisStart', (event) => (event.channel as { id: string }).id === snoop.body.id);
    const bridge = await ari.request('POST', '/bridges', { type: 'mixing' });
    await ari.request('POST', `/bridges/${bridge.body.id}/addChannel`, { channel: `${snoop.body.id},${listener.id}` });
    const heard = listener.waitForAudio();
    await caller.play(sineTone(500, 200));
    await heard;
  });
});
