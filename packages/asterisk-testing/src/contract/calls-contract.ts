import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import type { TelephonyKind } from '../test-telephony.ts';
import { eventsOf, inboundCall, sleep, tone, useContractContext } from './contract-context.ts';

/**
 * What the platform relies on about calls, checked the same way against the simulator and a
 * real Asterisk 23: how an inbound call arrives, answer, DTMF, hang-up events and causes,
 * mixing bridges, and a second leg originated for `connect`.
 */
export function callsContract(kind: TelephonyKind): void {
  const contextOf = useContractContext(kind);

  it('delivers an inbound call as StasisStart with the dialled number, the caller and state Ring; answer makes it Up', async () => {
    const context = contextOf();
    const { caller, channelId, start, extension } = await inboundCall(context, { answer: false, callerNumber: '+15550100999' });
    expect(start.channel).toMatchObject({ id: caller.id, state: 'Ring', dialplan: { exten: extension }, caller: { number: '+15550100999' } });
    expect(start.args).toEqual([]);
    // The app is subscribed to a dialplan channel at its StasisStart: nothing about it comes before.
    expect(eventsOf(context.app, channelId)[0]).toMatchObject({ type: 'StasisStart' });
    const up = context.app.waitFor((event) => event.type === 'ChannelStateChange' && event.channel?.id === channelId && event.channel.state === 'Up');
    await context.app.request('POST', `/channels/${channelId}/answer`);
    await up;
    await caller.waitForAnswer(5000);
    caller.hangup();
  });

  it("reports the caller's key presses as ChannelDtmfReceived with the digit and its duration", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const received = context.app.waitFor((event) => event.type === 'ChannelDtmfReceived' && event.channel?.id === channelId, 5000, 'the DTMF event');
    await caller.sendDtmf('7', 250);
    const event = await received;
    expect(event.digit).toBe('7');
    expect(event.duration_ms).toBeGreaterThan(0);
    caller.hangup();
  });

  it("ends a caller's hang-up with ChannelHangupRequest (cause 16, no cause_txt), then StasisEnd; a ChannelDestroyed, if any, says Normal Clearing", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const from = context.app.received.length;
    const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === channelId, 5000, 'StasisEnd');
    caller.hangup();
    await ended;
    await sleep(300);
    const events = eventsOf(context.app, channelId, from);
    const requests = events.filter((event) => event.type === 'ChannelHangupRequest');
    // Real Asterisk sends one or two hang-up requests for one hang-up (one of them soft), and
    // nothing after StasisEnd unless the app subscribed to the channel: whoever reads them must
    // report the call's end once, on the first, and take the reason from the cause code.
    expect(requests.length).toBeGreaterThanOrEqual(1);
    for (const request of requests) expect(request).toMatchObject({ cause: 16 });
    for (const request of requests) expect(request.cause_txt).toBeUndefined();
    const order = events.map((event) => event.type).filter((type) => ['ChannelHangupRequest', 'StasisEnd', 'ChannelDestroyed'].includes(type));
    expect(order.indexOf('StasisEnd')).toBeGreaterThan(order.indexOf('ChannelHangupRequest'));
    for (const destroyed of events.filter((event) => event.type === 'ChannelDestroyed')) expect(destroyed).toMatchObject({ cause: 16, cause_txt: 'Normal Clearing' });
  });

  it('hangs a channel up over ARI (ChannelHangupRequest soft, cause 32), and forgets it (404 afterwards)', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const requested = context.app.waitFor((event) => event.type === 'ChannelHangupRequest' && event.channel?.id === channelId, 5000, 'ChannelHangupRequest');
    const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === channelId, 5000, 'StasisEnd');
    await context.app.request('DELETE', `/channels/${channelId}`, { reason: 'busy' });
    // The reason goes to the far end; the app sees the soft hang-up ARI itself asked for.
    expect(await requested).toMatchObject({ cause: 32, soft: true });
    await ended;
    await caller.waitForHangup(5000);
    await expect(context.app.request('GET', `/channels/${channelId}`)).rejects.toMatchObject({ status: 404 });
    await expect(context.app.request('DELETE', `/channels/${channelId}`)).rejects.toMatchObject({ status: 404 });
  });

  it('mixes two calls in a bridge both ways, and refuses a channel that is not in the app (422)', async () => {
    const context = contextOf();
    const first = await inboundCall(context);
    const second = await inboundCall(context);
    const bridgeId = `contract-${Date.now()}`;
    await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId, name: 'contract' });
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${first.channelId},${second.channelId}` });
    const secondHears = second.caller.waitForAudio(5000);
    await first.caller.play(tone(400));
    await secondHears;
    const firstHears = first.caller.waitForAudio(5000);
    await second.caller.play(tone(400, 660));
    await firstHears;
    await expect(context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: 'no-such-channel' })).rejects.toMatchObject({ status: expect.any(Number) });
    await context.app.request('DELETE', `/bridges/${bridgeId}`);
    // Asterisk destroys the bridge a moment after answering.
    await eventually(() => context.app.request('GET', `/bridges/${bridgeId}`).then(() => false, (error: { status?: number }) => error.status === 404), 'the bridge to go', 5000);
    first.caller.hangup();
    second.caller.hangup();
  });

  it("plays media to a bridged channel only (the bridge does not hear it), and the channel's own voice does not reach the bridge meanwhile", async () => {
    const context = contextOf();
    const first = await inboundCall(context);
    const second = await inboundCall(context);
    const bridgeId = `contract-play-${Date.now()}`;
    await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${first.channelId},${second.channelId}` });
    const playbackId = `contract-play-${Date.now()}`;
    const firstHears = first.caller.waitForAudio(5000);
    await context.app.request('POST', `/channels/${first.channelId}/play`, { media: 'tone:440', playbackId });
    await firstHears;
    await sleep(500);
    expect(second.caller.heardSegments).toEqual([]);
    expect(second.caller.hearingAudio).toBe(false);
    // The first caller speaks while its channel plays: nothing reaches the other side.
    await first.caller.play(tone(600, 660));
    await sleep(300);
    expect(second.caller.heardSegments).toEqual([]);
    expect(second.caller.hearingAudio).toBe(false);
    await context.app.request('DELETE', `/playbacks/${playbackId}`);
    await first.caller.waitForSilence(5000);
    const secondHears = second.caller.waitForAudio(5000);
    await first.caller.play(tone(400, 660));
    await secondHears;
    await context.app.request('DELETE', `/bridges/${bridgeId}`);
    first.caller.hangup();
    second.caller.hangup();
  });

  it('originates a second leg for connect: StasisStart with the app args once answered, then the legs talk in a bridge', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const calleeId = `contract-callee-${Date.now()}`;
    const outbound = context.telephony.nextOutboundCall(10_000);
    const started = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === calleeId, 10_000, "the callee's StasisStart");
    await context.app.request('POST', '/channels', {
      endpoint: context.telephony.endpointFor('dave'),
      channelId: calleeId,
      app: context.app.app,
      appArgs: 'connect,contract',
      callerId: '+15550100200',
      timeout: 10,
      originator: channelId,
    });
    const callee = await outbound;
    const start = await started;
    expect(start.args).toEqual(['connect', 'contract']);
    await eventually(async () => (await context.app.request('GET', `/channels/${calleeId}`)).state === 'Up', 'the callee leg to be up', 5000);
    const bridgeId = `contract-connect-${Date.now()}`;
    await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
    await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${channelId},${calleeId}` });
    const calleeHears = callee.waitForAudio(5000);
    await caller.play(tone(400));
    await calleeHears;
    const hungUp = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === calleeId, 5000, "the callee's StasisEnd");
    callee.hangup();
    await hungUp;
    await context.app.request('DELETE', `/bridges/${bridgeId}`);
    caller.hangup();
  });
}
