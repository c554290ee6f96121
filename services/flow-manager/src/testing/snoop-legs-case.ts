import { randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { buildRtpPacket, decodeBytes, encodeSamples, parseRtpPacket, rms } from '@avp/asterisk-simulator';
import type { TestTelephony } from '@avp/asterisk-testing';
import { rpcCall, type Bus } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect } from 'vitest';

/** A UDP socket standing in for an RTP consumer (pipeline-manager, a transcriber): counts what arrives and what has sound. */
export async function rtpConsumer() {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const counts = { packets: 0, loud: 0 };
  socket.on('message', (message) => {
    const packet = parseRtpPacket(message);
    if (!packet) return;
    counts.packets++;
    if (packet.payloadType === 0 && rms(decodeBytes('ulaw', packet.payload, 'big')) > 300) counts.loud++;
  });
  return { socket, port: socket.address().port, counts, close: () => socket.close() };
}

/** What a snoop media leg answers. */
interface SnoopMediaReply {
  channel_id: string;
  snoop_channel_id: string;
  bridge_id: string;
  local_host: string;
  local_port: number;
}

/** What the telephony suite gives the snoop legs case. */
export interface SnoopLegsFixture {
  bus: Bus;
  telephony: TestTelephony;
  customerId: string;
  numberWithFlow(actions: unknown[]): Promise<string>;
  callOf(channelId: string): Promise<Record<string, unknown>>;
}

/**
 * The telephony suite's case for per-direction snoop media legs (flow-manager's
 * `/v1/calls/{id}/snoop_media`): beside an AI media leg that keeps working, one removed, the
 * caller's hang-up taking the rest.
 */
export async function snoopLegsCase({ bus, telephony, customerId, numberWithFlow, callOf }: SnoopLegsFixture): Promise<void> {
  const number = await numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
  const caller = telephony.placeCall({ extension: number, callerNumber: '+15551230006' });
  await caller.waitForAnswer(10_000);
  const call = await callOf(caller.id);
  const callId = String(call.id);
  const ai = await rtpConsumer();
  const heardIn = await rtpConsumer();
  const heardOut = await rtpConsumer();
  const tone = Int16Array.from({ length: 16_000 * 0.6 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
  const channelIds = async () => (await telephony.channels()).map((channel) => channel.id);
  const bridgeIds = async () => (await telephony.bridges()).map((bridge) => bridge.id);
  try {
    // The AI session's leg, as pipeline-manager asks for it.
    const media = await rpcCall<{ local_address: string; local_port: number; channel_id: string; bridge_id: string }>(bus, 'flow-manager', 'POST', `/v1/calls/${callId}/external_media`, {
      customer_id: customerId,
      transport: 'rtp',
      external_host: `127.0.0.1:${ai.port}`,
      format: 'ulaw',
    });
    const snoop = (direction: 'in' | 'out', port: number, customer = customerId) =>
      rpcCall<SnoopMediaReply>(bus, 'flow-manager', 'POST', `/v1/calls/${callId}/snoop_media`, { customer_id: customer, direction, external_host: `127.0.0.1:${port}` });

    // Another customer's call is a 404, and nothing is created in Asterisk.
    const before = { channels: (await channelIds()).sort(), bridges: (await bridgeIds()).sort() };
    expect(await snoop('in', heardIn.port, randomUUID()).catch((error: unknown) => error)).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
    expect({ channels: (await channelIds()).sort(), bridges: (await bridgeIds()).sort() }).toEqual(before);
    const inLeg = await snoop('in', heardIn.port);
    expect(await channelIds()).toEqual(expect.arrayContaining([inLeg.channel_id, inLeg.snoop_channel_id]));
    expect((await telephony.bridges()).find((bridge) => bridge.id === inLeg.bridge_id)?.channels.sort()).toEqual([inLeg.channel_id, inLeg.snoop_channel_id].sort());
    const outLeg = await snoop('out', heardOut.port);
    expect(outLeg).toMatchObject({
      channel_id: expect.stringMatching(/^snoop-[0-9a-f-]{36}-rtp$/),
      snoop_channel_id: expect.stringMatching(/^snoop-[0-9a-f-]{36}$/),
      bridge_id: expect.stringMatching(/^snoop-/),
      local_host: expect.any(String),
      local_port: expect.any(Number),
    });
    // The AI leg and its bridge with the caller are left as they were.
    expect((await telephony.bridges()).find((bridge) => bridge.id === media.bridge_id)?.channels.sort()).toEqual([caller.id, media.channel_id].sort());

    // The caller speaks: the AI leg and the `in` leg get it, the `out` leg does not.
    let mark = { ai: ai.counts.loud, in: heardIn.counts.loud, out: heardOut.counts.loud };
    await caller.play(tone);
    await eventually(() => ai.counts.loud - mark.ai >= 10 && heardIn.counts.loud - mark.in >= 10, "the caller's voice on the AI leg and the in leg");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heardOut.counts.loud - mark.out).toBe(0);

    // The AI speaks: the caller hears it, so does the `out` leg; the `in` leg does not.
    mark = { ai: ai.counts.loud, in: heardIn.counts.loud, out: heardOut.counts.loud };
    const hears = caller.waitForAudio(10_000);
    const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    for (let packet = 0; packet < 30; packet++) {
      ai.socket.send(buildRtpPacket({ payloadType: 0, sequenceNumber: packet, timestamp: packet * 160, ssrc: 43, marker: packet === 0, payload: encodeSamples('ulaw', frame, 'big') }), media.local_port, media.local_address);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await hears;
    await eventually(() => heardOut.counts.loud - mark.out >= 10, 'what the caller hears on the out leg');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heardIn.counts.loud - mark.in).toBe(0);

    // One leg removed: its RTP channel and bridge go, its snoop leaves the app; the other leg and the AI leg stay.
    await rpcCall(bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/snoop_media/${inLeg.channel_id}`, { customer_id: customerId });
    await eventually(async () => !(await channelIds()).includes(inLeg.channel_id) && !(await bridgeIds()).includes(inLeg.bridge_id), 'the in leg to go');
    expect(await channelIds()).toEqual(expect.arrayContaining([caller.id, media.channel_id, outLeg.channel_id, outLeg.snoop_channel_id]));
    expect(await rpcCall(bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/snoop_media/${inLeg.channel_id}`, { customer_id: customerId }).catch((error: unknown) => error)).toMatchObject({
      reason: 'RESOURCE_NOT_FOUND',
    });
    expect(
      await rpcCall(bus, 'flow-manager', 'DELETE', `/v1/calls/${callId}/snoop_media/${outLeg.channel_id}`, { customer_id: randomUUID() }).catch((error: unknown) => error),
    ).toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
    const aiHearsCaller = ai.counts.loud;
    await caller.play(tone);
    await eventually(() => ai.counts.loud - aiHearsCaller >= 10, "the caller's voice on the AI leg after a snoop leg went");
    // A real Asterisk destroys a hung-up snoop once audio passes its target (until then it is
    // still listed, though ARI can no longer hang it up): the caller has just spoken.
    await eventually(async () => !(await channelIds()).includes(inLeg.snoop_channel_id), 'the removed snoop to be destroyed');

    // The caller hangs up: Asterisk ends the snoop, flow-manager removes the leg's channel and bridge.
    caller.hangup();
    await eventually(async () => {
      const [channels, bridges] = [await channelIds(), await bridgeIds()];
      return [outLeg.channel_id, outLeg.snoop_channel_id, caller.id, media.channel_id].every((id) => !channels.includes(id)) && !bridges.includes(outLeg.bridge_id) && !bridges.includes(media.bridge_id);
    }, 'the legs to go with the caller', 15_000);
    await eventually(async () => (await callOf(caller.id)).status === 'hangup', 'the call to end');
    expect(await snoop('out', heardOut.port).catch((error: unknown) => error)).toMatchObject({ reason: 'INVALID_STATE' });
    expect((await channelIds()).filter((id) => id.startsWith('snoop-'))).toEqual([]);
  } finally {
    ai.close();
    heardIn.close();
    heardOut.close();
    caller.hangup();
  }
}
