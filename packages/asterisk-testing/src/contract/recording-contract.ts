import { buildRtpPacket, encodeSamples, ENGINE_FRAME_SAMPLES, RateConverter } from '@avp/asterisk-simulator';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import type { TelephonyKind } from '../test-telephony.ts';
import { eventsOf, inboundCall, rtpPeer, sleep, tone, useContractContext } from './contract-context.ts';
import { amplitudeAt, ari, eventsAbout, loudWindows, record, recordingEvent, recordParameters, snoop, storedWav, unique } from './recording-helpers.ts';

/**
 * Call recording as flow-manager does it, against the simulator and a real Asterisk 23: a snoop
 * per direction, each recorded as `wav` (POST /channels/{snoop}/record), stopped over ARI or by
 * the caller hanging up, then read and deleted from the stored recordings.
 */
export function recordingContract(kind: TelephonyKind): void {
  const contextOf = useContractContext(kind);

  it("records a snoop in (what the caller says) and a snoop out (what the caller hears) into 8 kHz 16-bit mono WAVs as long as the recordings ran, with RecordingStarted and RecordingFinished, until stopped", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    try {
      const snoopIn = await snoop(context, channelId, 'in');
      const snoopOut = await snoop(context, channelId, 'out');
      const names = { in: unique('contract-record-in'), out: unique('contract-record-out') };
      const inbound = await record(context, snoopIn, names.in);
      const outbound = await record(context, snoopOut, names.out);
      expect(inbound.response.status).toBe(201);
      expect(inbound.response.json).toEqual({ name: names.in, format: 'wav', state: 'queued', target_uri: `channel:${snoopIn}` });
      expect(inbound.response.headers.get('location')).toBe(`/ari/recordings/live/${names.in}`);
      expect(inbound.event.recording).toEqual({ name: names.in, format: 'wav', state: 'recording', target_uri: `channel:${snoopIn}` });
      expect(outbound.event.recording).toEqual({ name: names.out, format: 'wav', state: 'recording', target_uri: `channel:${snoopOut}` });
      expect((await ari(context, 'GET', `/recordings/live/${names.in}`)).json).toEqual({ name: names.in, format: 'wav', state: 'recording', target_uri: `channel:${snoopIn}` });
      // Its file is in the stored recordings from the start.
      expect((await ari(context, 'GET', '/recordings/stored')).json).toEqual(expect.arrayContaining([{ name: names.in, format: 'wav' }]));

      // The caller says a 440 Hz tone for 800 ms, then hears a 1000 Hz tone for 800 ms.
      await sleep(400);
      await caller.play(tone(800, 440));
      await sleep(1000);
      const playbackId = unique('contract-record-play');
      await context.app.request('POST', `/channels/${channelId}/play`, { media: 'tone:1000', playbackId });
      await sleep(800);
      await context.app.request('DELETE', `/playbacks/${playbackId}`);
      await sleep(600);

      const finished = Object.fromEntries(
        await Promise.all(
          (['in', 'out'] as const).map(async (direction) => {
            const name = names[direction];
            const done = context.app.waitFor(recordingEvent(name, 'RecordingFinished'), 5000, `RecordingFinished of ${name}`);
            expect((await ari(context, 'POST', `/recordings/live/${name}/stop`)).status).toBe(204);
            const event = await done;
            return [direction, { event, seconds: (performance.now() - (direction === 'in' ? inbound : outbound).startedAt) / 1000 }] as const;
          }),
        ),
      );
      for (const direction of ['in', 'out'] as const) {
        const name = names[direction];
        const { event, seconds } = finished[direction]!;
        const recording = event.recording as { duration: number };
        expect(event.recording).toEqual({ name, format: 'wav', state: 'done', target_uri: `channel:${direction === 'in' ? snoopIn : snoopOut}`, duration: recording.duration });
        // Whole seconds of audio written (ast_tellstream / 8000).
        expect(Math.abs(recording.duration - Math.floor(seconds))).toBeLessThanOrEqual(1);
        expect(eventsAbout(context, name).map((about) => about.type)).toEqual(['RecordingStarted', 'RecordingFinished']);
        await eventually(async () => (await ari(context, 'GET', `/recordings/live/${name}`)).status === 404, 'the finished recording to leave the live ones', 2000);
        expect((await ari(context, 'GET', `/recordings/stored/${name}`)).json).toEqual({ name, format: 'wav' });

        // A snoop reads every 20 ms, silence included: the file is as long as the recording ran.
        const samples = await storedWav(context, name);
        expect(Math.abs(samples.length / 8000 - seconds)).toBeLessThan(0.3);
        expect(loudWindows(samples.subarray(0, 2400), 8000, 300)).toBe(0);
        const heard = { caller: amplitudeAt(samples, 8000, 440), played: amplitudeAt(samples, 8000, 1000) };
        const [wanted, unwanted] = direction === 'in' ? [heard.caller, heard.played] : [heard.played, heard.caller];
        expect(wanted).toBeGreaterThan(10 * unwanted);
        expect(loudWindows(samples, 8000)).toBeGreaterThanOrEqual(6);
        expect(loudWindows(samples, 8000)).toBeLessThanOrEqual(10);
      }
      expect((await ari(context, 'GET', '/recordings/stored')).json).toEqual(expect.arrayContaining([{ name: names.in, format: 'wav' }, { name: names.out, format: 'wav' }]));
      for (const name of Object.values(names)) {
        expect((await ari(context, 'DELETE', `/recordings/stored/${name}`)).status).toBe(204);
        expect((await ari(context, 'GET', `/recordings/stored/${name}`)).status).toBe(404);
        expect((await ari(context, 'DELETE', `/recordings/stored/${name}`)).json).toEqual({ message: 'Recording not found' });
      }
    } finally {
      caller.hangup();
    }
  });

  it("finishes a snoop's recording when the caller hangs up (RecordingFinished before the snoop's StasisEnd) and stores its file", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const snoopId = await snoop(context, channelId, 'in');
    const name = unique('contract-record-hangup');
    const { startedAt } = await record(context, snoopId, name);
    await caller.play(tone(500, 440));
    await sleep(1500);
    const from = context.app.received.length;
    const finished = context.app.waitFor(recordingEvent(name, 'RecordingFinished'), 5000, `RecordingFinished of ${name}`);
    const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === snoopId, 5000, "the snoop's StasisEnd");
    caller.hangup();
    const seconds = (performance.now() - startedAt) / 1000;
    const event = await finished;
    await ended;
    expect(event.recording).toEqual({ name, format: 'wav', state: 'done', target_uri: `channel:${snoopId}`, duration: expect.any(Number) });
    const order = context.app.received.slice(from).filter((about) => about === event || (about.type === 'StasisEnd' && about.channel?.id === snoopId));
    expect(order.map((about) => about.type)).toEqual(['RecordingFinished', 'StasisEnd']);
    expect(eventsOf(context.app, snoopId, from).map((about) => about.type)).toEqual(['StasisEnd']);

    expect((await ari(context, 'GET', `/recordings/live/${name}`)).status).toBe(404);
    const samples = await storedWav(context, name);
    expect(Math.abs(samples.length / 8000 - seconds)).toBeLessThan(0.3);
    expect((event.recording as { duration: number }).duration).toBe(Math.floor(samples.length / 8000));
    expect(amplitudeAt(samples, 8000, 440)).toBeGreaterThan(500);
    expect((await ari(context, 'DELETE', `/recordings/stored/${name}`)).status).toBe(204);
    expect((await ari(context, 'GET', '/recordings/stored')).json).not.toEqual(expect.arrayContaining([{ name, format: 'wav' }]));
  });

  it("records, while the caller is bridged with an RTP media leg, the leg's audio (what the caller hears) in the snoop out and the caller's voice in the snoop in", async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const peer = await rtpPeer();
    const bridgeId = unique('contract-record-call');
    const mediaId = unique('contract-record-rtp');
    try {
      const mediaStarted = context.app.waitFor((event) => event.type === 'StasisStart' && event.channel?.id === mediaId, 5000, "the leg's StasisStart");
      const media = await context.app.request('POST', '/channels/externalMedia', {
        app: context.app.app,
        channelId: mediaId,
        external_host: `127.0.0.1:${peer.port}`,
        format: 'ulaw',
        encapsulation: 'rtp',
        transport: 'udp',
      });
      await mediaStarted;
      await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
      await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: `${channelId},${mediaId}` });
      const names = { in: unique('contract-record-bridged-in'), out: unique('contract-record-bridged-out') };
      const snoops = { in: await snoop(context, channelId, 'in'), out: await snoop(context, channelId, 'out') };
      const startedAt = (await record(context, snoops.in, names.in)).startedAt;
      await record(context, snoops.out, names.out);

      await sleep(300);
      await caller.play(tone(600, 440));
      await sleep(300);
      // The platform's side speaks a 1000 Hz tone over RTP, paced at 20 ms.
      const down = new RateConverter(16_000, 8000);
      const speech = tone(600, 1000);
      for (let frame = 0; frame * ENGINE_FRAME_SAMPLES < speech.length; frame++) {
        const payload = encodeSamples('ulaw', down.convert(speech.subarray(frame * ENGINE_FRAME_SAMPLES, (frame + 1) * ENGINE_FRAME_SAMPLES)), 'big');
        const packet = buildRtpPacket({ payloadType: 0, sequenceNumber: frame, timestamp: frame * 160, ssrc: 11, marker: frame === 0, payload });
        peer.socket.send(packet, Number(media.channelvars.UNICASTRTP_LOCAL_PORT), media.channelvars.UNICASTRTP_LOCAL_ADDRESS);
        await sleep(20);
      }
      await sleep(400);
      for (const direction of ['in', 'out'] as const) {
        const done = context.app.waitFor(recordingEvent(names[direction], 'RecordingFinished'), 5000, `RecordingFinished of ${names[direction]}`);
        await ari(context, 'POST', `/recordings/live/${names[direction]}/stop`);
        await done;
      }
      const seconds = (performance.now() - startedAt) / 1000;
      const recorded = { in: await storedWav(context, names.in), out: await storedWav(context, names.out) };
      // Silence where nobody speaks: each file is as long as its recording ran.
      expect(Math.abs(recorded.in.length / 8000 - seconds)).toBeLessThan(0.3);
      expect(Math.abs(recorded.out.length / 8000 - seconds)).toBeLessThan(0.3);
      expect(amplitudeAt(recorded.in, 8000, 440)).toBeGreaterThan(10 * amplitudeAt(recorded.in, 8000, 1000));
      expect(amplitudeAt(recorded.out, 8000, 1000)).toBeGreaterThan(10 * amplitudeAt(recorded.out, 8000, 440));
      for (const name of Object.values(names)) await ari(context, 'DELETE', `/recordings/stored/${name}`);
    } finally {
      peer.close();
      await context.app.request('DELETE', `/channels/${mediaId}`).catch(() => undefined);
      await context.app.request('DELETE', `/bridges/${bridgeId}`).catch(() => undefined);
      caller.hangup();
    }
  });

  it('queues a second recording of a channel behind the first, pauses (nothing written) and mutes (silence written), cancels (file removed), ends by itself at maxDurationSeconds, copies', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const names = { first: unique('contract-record-first'), second: unique('contract-record-second'), canceled: unique('contract-record-canceled') };
    const limited = unique('contract-record-limited');
    const copied = unique('contract-record-copied');
    try {
      const snoopId = await snoop(context, channelId, 'in');
      const { startedAt } = await record(context, snoopId, names.first);
      const second = context.app.waitFor(recordingEvent(names.second, 'RecordingStarted'), 10_000, `RecordingStarted of ${names.second}`);
      expect((await ari(context, 'POST', `/channels/${snoopId}/record`, { name: names.second, ...recordParameters })).json).toMatchObject({ state: 'queued' });
      expect((await ari(context, 'GET', `/recordings/live/${names.second}`)).json).toMatchObject({ state: 'queued' });
      // A file being written has zero sizes in its header (format_wav fills them in at the end).
      const live = await ari(context, 'GET', `/recordings/stored/${names.first}/file`);
      expect([live.status, live.headers.get('content-type'), live.body.readUInt32LE(4), live.body.readUInt32LE(40)]).toEqual([200, 'audio/wav', 0, 0]);

      await sleep(300);
      expect((await ari(context, 'POST', `/recordings/live/${names.first}/pause`)).status).toBe(204);
      expect((await ari(context, 'GET', `/recordings/live/${names.first}`)).json).toMatchObject({ state: 'paused' });
      await sleep(1000);
      expect((await ari(context, 'DELETE', `/recordings/live/${names.first}/pause`)).status).toBe(204);
      await sleep(300);
      await ari(context, 'POST', `/recordings/live/${names.first}/stop`);
      await second;
      const pausedSeconds = (performance.now() - startedAt) / 1000 - 1;
      expect(eventsAbout(context, names.first).map((event) => event.type)).toEqual(['RecordingStarted', 'RecordingFinished']);
      expect(Math.abs((await storedWav(context, names.first)).length / 8000 - pausedSeconds)).toBeLessThan(0.3);

      expect((await ari(context, 'POST', `/recordings/live/${names.second}/mute`)).status).toBe(204);
      await caller.play(tone(500, 440));
      const secondDone = context.app.waitFor(recordingEvent(names.second, 'RecordingFinished'), 5000, `RecordingFinished of ${names.second}`);
      await ari(context, 'POST', `/recordings/live/${names.second}/stop`);
      await secondDone;
      expect(loudWindows(await storedWav(context, names.second), 8000, 300)).toBe(0);

      await record(context, snoopId, names.canceled);
      const canceled = context.app.waitFor(recordingEvent(names.canceled, 'RecordingFinished'), 5000, `RecordingFinished of ${names.canceled}`);
      expect((await ari(context, 'DELETE', `/recordings/live/${names.canceled}`)).status).toBe(204);
      expect((await canceled).recording).toMatchObject({ state: 'done' });
      expect((await ari(context, 'GET', `/recordings/stored/${names.canceled}`)).status).toBe(404);

      const limit = context.app.waitFor(recordingEvent(limited, 'RecordingFinished'), 5000, `RecordingFinished of ${limited}`);
      await ari(context, 'POST', `/channels/${snoopId}/record`, { ...recordParameters, name: limited, maxDurationSeconds: '1' });
      expect((await limit).recording).toMatchObject({ state: 'done', duration: 1 });
      const limitedSeconds = (await storedWav(context, limited)).length / 8000;
      expect(limitedSeconds).toBeGreaterThanOrEqual(1);
      expect(limitedSeconds).toBeLessThan(2.2);

      expect(await ari(context, 'POST', `/recordings/stored/${limited}/copy`, { destinationRecordingName: copied })).toMatchObject({ status: 200, json: { name: copied, format: 'wav' } });
      expect(await ari(context, 'POST', `/recordings/stored/${limited}/copy`, { destinationRecordingName: copied })).toMatchObject({
        status: 409,
        json: { message: 'A recording with the same name already exists on the system' },
      });
      expect((await storedWav(context, copied)).length / 8000).toBe(limitedSeconds);
    } finally {
      for (const name of [names.first, names.second, limited, copied]) await ari(context, 'DELETE', `/recordings/stored/${name}`);
      caller.hangup();
    }
  });

  it('ends a recording after maxSilenceSeconds of silence (talking and silence durations, trailing silence cut to 200 ms) and records wav16 at 16 kHz', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const names = { silence: unique('contract-record-silence'), wide: unique('contract-record-wide') };
    try {
      const snoopId = await snoop(context, channelId, 'in');
      const finished = context.app.waitFor(recordingEvent(names.silence, 'RecordingFinished'), 6000, `RecordingFinished of ${names.silence}`);
      await ari(context, 'POST', `/channels/${snoopId}/record`, { ...recordParameters, name: names.silence, maxSilenceSeconds: '1' });
      await caller.play(tone(1500, 440));
      const recording = (await finished).recording as { duration: number; talking_duration: number; silence_duration: number };
      expect(recording).toMatchObject({ state: 'done', duration: expect.any(Number), talking_duration: expect.any(Number), silence_duration: expect.any(Number) });
      expect(recording.talking_duration + recording.silence_duration).toBe(recording.duration);
      const seconds = (await storedWav(context, names.silence)).length / 8000;
      expect(seconds).toBeGreaterThan(1.4);
      expect(seconds).toBeLessThan(2.1);

      const started = context.app.waitFor(recordingEvent(names.wide, 'RecordingStarted'), 5000, `RecordingStarted of ${names.wide}`);
      await ari(context, 'POST', `/channels/${snoopId}/record`, { ...recordParameters, name: names.wide, format: 'wav16' });
      await started;
      await sleep(1300);
      const wideDone = context.app.waitFor(recordingEvent(names.wide, 'RecordingFinished'), 5000, `RecordingFinished of ${names.wide}`);
      await ari(context, 'POST', `/recordings/live/${names.wide}/stop`);
      const wide = (await wideDone).recording as { format: string; duration: number };
      const file = await ari(context, 'GET', `/recordings/stored/${names.wide}/file`);
      expect(file.headers.get('content-type')).toBe('audio/wav16');
      expect(file.body.readUInt32LE(24)).toBe(16_000);
      // Asterisk counts the duration in 8 kHz samples whatever the format: twice the length here.
      expect(wide).toMatchObject({ format: 'wav16', duration: Math.floor((file.body.length - 44) / 2 / 8000) });
      expect((file.body.length - 44) / 2 / 16_000).toBeGreaterThan(1.2);
    } finally {
      for (const name of Object.values(names)) await ari(context, 'DELETE', `/recordings/stored/${name}`);
      caller.hangup();
    }
  });

  it('answers errors as Asterisk does: unknown recording 404, unknown channel 404, unknown format 422, a name that is recording 409, no name 500, a channel out of Stasis 409, a hung-up snoop 404', async () => {
    const context = contextOf();
    const notFound = { message: 'Recording not found' };
    expect(await ari(context, 'POST', `/recordings/live/${unique('nothing')}/stop`)).toMatchObject({ status: 404, json: notFound });
    expect(await ari(context, 'GET', `/recordings/live/${unique('nothing')}`)).toMatchObject({ status: 404, json: notFound });
    expect(await ari(context, 'GET', `/recordings/stored/${unique('nothing')}/file`)).toMatchObject({ status: 404, json: notFound });
    expect(await ari(context, 'POST', `/channels/${unique('no-channel')}/record`, { name: 'x', ...recordParameters })).toMatchObject({ status: 404, json: { message: 'Channel not found' } });

    const { caller, channelId } = await inboundCall(context);
    try {
      const snoopId = await snoop(context, channelId, 'in');
      const unknownFormat = { status: 422, json: { message: 'specified format is unknown on this system' } };
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, { ...recordParameters, name: unique('x'), format: 'mp3' })).toMatchObject(unknownFormat);
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, { ...recordParameters, name: unique('x'), format: 'WAV' })).toMatchObject(unknownFormat);
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, recordParameters)).toMatchObject({ status: 500, json: { message: 'Error parsing request' } });
      const name = unique('contract-record-twice');
      await record(context, snoopId, name);
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, { name, ...recordParameters })).toMatchObject({
        status: 409,
        json: { message: `Recording '${name}' already exists and can not be overwritten` },
      });
      const finished = context.app.waitFor(recordingEvent(name, 'RecordingFinished'), 5000, `RecordingFinished of ${name}`);
      expect((await ari(context, 'POST', `/recordings/live/${name}/stop`)).status).toBe(204);
      await finished;
      // ifExists=fail (the default) refuses a name that is stored.
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, { name, format: 'wav' })).toMatchObject({ status: 409 });
      await ari(context, 'DELETE', `/recordings/stored/${name}`);

      // A snoop hung up over ARI is still listed until audio passes its target, but it cannot be found to record.
      const ended = context.app.waitFor((event) => event.type === 'StasisEnd' && event.channel?.id === snoopId, 5000, "the snoop's StasisEnd");
      await context.app.request('DELETE', `/channels/${snoopId}`);
      await ended;
      expect(await ari(context, 'POST', `/channels/${snoopId}/record`, { name: unique('x'), ...recordParameters })).toMatchObject({
        status: 404,
        json: { message: 'Channel not found' },
      });
      // A WebSocket media channel waiting for its client exists outside Stasis.
      const waiting = unique('contract-record-waiting');
      await context.app.request('POST', '/channels/externalMedia', {
        app: context.app.app,
        channelId: waiting,
        external_host: 'INCOMING',
        transport: 'websocket',
        encapsulation: 'none',
        connection_type: 'server',
        format: 'ulaw',
      });
      expect(await ari(context, 'POST', `/channels/${waiting}/record`, { name: unique('x'), ...recordParameters })).toMatchObject({
        status: 409,
        json: { message: 'Channel not in Stasis application' },
      });
      await context.app.request('DELETE', `/channels/${waiting}`).catch(() => undefined);
    } finally {
      caller.hangup();
    }
  });

  it('keeps a recording channel out of bridges (409) and fails the recording of a bridged channel with RecordingFailed', async () => {
    const context = contextOf();
    const { caller, channelId } = await inboundCall(context);
    const bridgeId = unique('contract-record-bridge');
    try {
      await context.app.request('POST', '/bridges', { type: 'mixing', bridgeId });
      const snoopId = await snoop(context, channelId, 'in');
      const name = unique('contract-record-busy');
      await record(context, snoopId, name);
      expect(await ari(context, 'POST', `/bridges/${bridgeId}/addChannel`, { channel: snoopId })).toMatchObject({
        status: 409,
        json: { message: `Channel ${snoopId} currently recording` },
      });
      const finished = context.app.waitFor(recordingEvent(name, 'RecordingFinished'), 5000, `RecordingFinished of ${name}`);
      await ari(context, 'POST', `/recordings/live/${name}/stop`);
      await finished;
      await ari(context, 'DELETE', `/recordings/stored/${name}`);

      await context.app.request('POST', `/bridges/${bridgeId}/addChannel`, { channel: channelId });
      await eventually(() => eventsOf(context.app, channelId).some((event) => event.type === 'ChannelEnteredBridge'), 'the caller in the bridge', 5000);
      const bridged = unique('contract-record-bridged');
      const failed = context.app.waitFor(recordingEvent(bridged, 'RecordingFailed'), 5000, `RecordingFailed of ${bridged}`);
      expect((await ari(context, 'POST', `/channels/${channelId}/record`, { name: bridged, ...recordParameters })).status).toBe(201);
      expect((await failed).recording).toEqual({ name: bridged, format: 'wav', state: 'failed', target_uri: `channel:${channelId}`, cause: 'Cannot record channel while in bridge' });
      expect(eventsAbout(context, bridged).map((event) => event.type)).toEqual(['RecordingFailed']);
      expect((await ari(context, 'GET', `/recordings/stored/${bridged}`)).status).toBe(404);
    } finally {
      await context.app.request('DELETE', `/bridges/${bridgeId}`).catch(() => undefined);
      caller.hangup();
    }
  });
}
