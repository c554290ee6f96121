import { appError, createInProcessBus, createRpcRouter, silentLogger, type Bus } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { g711Codec } from '../media/g711.ts';
import { RtpPeer } from '../media/testing/rtp-peer.ts';
import { FakeStt } from '../pipeline/testing/fakes.ts';
import { Transcribers, transcriberStartSchema, type Transcript } from './transcribers.ts';

const customerId = randomUUID();
const callId = randomUUID();

/** 20 ms of u-law at 8 kHz: a 440 Hz tone (loud) or silence. */
function frame(loud: boolean, index: number): Uint8Array {
  const pcm = new Int16Array(160);
  if (loud) for (let sample = 0; sample < pcm.length; sample++) pcm[sample] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (index * 160 + sample)) / 8000));
  const encoded = new Uint8Array(160);
  g711Codec('ulaw').encode(pcm, encoded);
  return encoded;
}

/**
 * A transcriber on a real RTP socket: flow-manager (a stand-in on the bus) is asked for a snoop
 * leg sending to it, an RTP peer plays Asterisk's side, the STT is a double whose finals the test
 * emits; transcripts carry the time their utterance started.
 */
describe('Transcribers', () => {
  let bus: Bus;
  let peer: RtpPeer | undefined;
  const legs: Record<string, unknown>[] = [];
  const removed: string[] = [];
  beforeEach(async () => {
    bus = createInProcessBus();
    legs.length = 0;
    removed.length = 0;
    const router = createRpcRouter()
      .add('POST', '/v1/calls/:id/snoop_media', async ({ params, data }) => {
        const body = data as { customer_id: string; external_host: string; direction: string };
        if (params.id !== callId || body.customer_id !== customerId) throw appError('RESOURCE_NOT_FOUND', 'No call.');
        legs.push(body);
        const [address, port] = body.external_host.split(':');
        peer = await RtpPeer.create({ address: address!, port: Number(port) }, 0, 160);
        const local = peer.address();
        return { channel_id: 'leg-1', snoop_channel_id: 'snoop-1', bridge_id: 'bridge-1', local_host: local.address, local_port: local.port };
      })
      .add('DELETE', '/v1/calls/:id/snoop_media/:channel', async ({ params }) => {
        removed.push(params.channel!);
        return {};
      });
    await bus.serve('flow-manager', router.handle);
  });
  afterEach(async () => {
    await peer?.close();
    peer = undefined;
    await bus.close();
  });

  it('reports each final with the time its utterance started, and removes the leg when stopped', async () => {
    const stt = new FakeStt({ usageOnClose: true });
    const transcripts: Transcript[] = [];
    const usages: unknown[] = [];
    const transcribers = new Transcribers({
      bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'test',
      stt: () => stt,
      report: { transcript: async (transcript) => transcripts.push(transcript), usage: async (usage) => usages.push(usage) },
    });
    const transcribeId = randomUUID();
    const started = await transcribers.start(transcriberStartSchema.parse({ transcribe_id: transcribeId, customer_id: customerId, call_id: callId, direction: 'in' }));
    expect(legs).toEqual([expect.objectContaining({ direction: 'in', format: 'ulaw' })]);
    expect(transcribers.list()).toEqual([expect.objectContaining({ transcriber_id: started.transcriber_id, direction: 'in' })]);

    // 0.5 s of silence, then 0.5 s of sound: the utterance starts when the first loud packet comes.
    const startedAt = Date.now();
    let loudAt = 0;
    for (let index = 0; index < 50; index++) {
      if (index === 25) loudAt = Date.now() - startedAt;
      await peer!.sendRaw(peer!.nextPacket(frame(index >= 25, index)));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await eventually(() => (stt.session?.written ?? 0) >= 45, 'the audio to reach the STT');
    stt.session!.emit({ type: 'final', text: 'hello there' });
    await eventually(() => transcripts.length === 1, 'the transcript');
    expect(transcripts[0]).toMatchObject({ transcribe_id: transcribeId, customer_id: customerId, direction: 'in', text: 'hello there' });
    expect(loudAt).toBeGreaterThan(400);
    expect(transcripts[0]!.offset_ms).toBeGreaterThanOrEqual(loudAt - 50);
    expect(transcripts[0]!.offset_ms).toBeLessThanOrEqual(loudAt + 250);

    await transcribers.stop(started.transcriber_id, 'test');
    expect(removed).toEqual(['leg-1']);
    expect(usages).toEqual([expect.objectContaining({ transcribe_id: transcribeId, provider: 'fake.stt' })]);
    expect(transcribers.size).toBe(0);
    await expect(transcribers.stop(started.transcriber_id, 'again')).rejects.toMatchObject({ reason: 'RESOURCE_NOT_FOUND' });
  });

  it("is refused for another customer's call, and leaves nothing open", async () => {
    const transcribers = new Transcribers({ bus, logger: silentLogger(), serviceName: 'pipeline-manager', instanceId: 'test', stt: () => new FakeStt() });
    await expect(
      transcribers.start(transcriberStartSchema.parse({ transcribe_id: randomUUID(), customer_id: randomUUID(), call_id: callId, direction: 'out' })),
    ).rejects.toMatchObject({ httpStatus: 404 });
    expect(transcribers.size).toBe(0);
  });
});
