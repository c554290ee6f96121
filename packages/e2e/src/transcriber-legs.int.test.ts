import { rpcCall, silentLogger } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { Transcribers, transcriberStartSchema, type Transcript } from '@avp/pipeline-manager/transcribers';
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeModes, useStack } from './testing/stack.ts';
import { stretchStt } from './testing/stretch-stt.ts';

/**
 * A live call's two directions, each on its own snoop leg (flow-manager, the Asterisk simulator)
 * into pipeline-manager's transcriber: a tone played to the caller is heard only on `out`, the
 * caller's own tone only on `in`, each with the time it started. (The transcription resource
 * that starts these comes with a later change; here the test starts them.)
 */
await describeModes('transcription legs: each direction of a call on its own', (mode) => {
  const stack = useStack(() => ({ mode, name: 'transcriber-legs', pipelineManager: false }));

  it('hears what is played to the caller on out, and the caller on in', async () => {
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550001234' });
    await caller.waitForAnswer(10_000);
    const calls = (await stack.api('GET', '/v1.0/calls')).result as { id: string; customer_id: string; channel_id: string }[];
    const call = calls.find((entry) => entry.channel_id === caller.id)!;
    const stts = { in: stretchStt(), out: stretchStt() };
    const transcripts: Transcript[] = [];
    const transcribers = new Transcribers({
      bus: stack.bus,
      logger: silentLogger(),
      serviceName: 'pipeline-manager',
      instanceId: 'test',
      stt: (request) => stts[request.direction],
      report: { transcript: async (transcript) => transcripts.push(transcript), usage: async () => undefined },
    });
    const transcribeId = randomUUID();
    const start = (direction: 'in' | 'out') =>
      transcribers.start(transcriberStartSchema.parse({ transcribe_id: transcribeId, customer_id: call.customer_id, call_id: call.id, direction }));
    const inbound = await start('in');
    const outbound = await start('out');
    try {
      // One second of a tone played to the caller ...
      await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${call.id}/play`, { customer_id: call.customer_id, stream_urls: ['tone:440'] });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${call.id}/media_stop`, { customer_id: call.customer_id });
      await new Promise((resolve) => setTimeout(resolve, 500));
      // ... then one second of the caller's own tone.
      const tone = new Int16Array(16_000).map((_, index) => Math.round(8000 * Math.sin((2 * Math.PI * 600 * index) / 16_000)));
      await caller.play(tone);
      await eventually(() => transcripts.filter((entry) => entry.direction === 'in').length === 1, 'the caller to be heard on in');
      await eventually(() => transcripts.filter((entry) => entry.direction === 'out').length === 1, 'the tone to be heard on out');
    } finally {
      await transcribers.stop(inbound.transcriber_id, 'test');
      await transcribers.stop(outbound.transcriber_id, 'test');
    }
    const heard = (direction: 'in' | 'out') => transcripts.filter((entry) => entry.direction === direction);
    // Each direction heard its own second of sound (give or take the edges), and only that.
    for (const direction of ['in', 'out'] as const) {
      const [only] = heard(direction);
      const ms = Number(/sound of (\d+) ms/.exec(only!.text)?.[1]);
      expect(ms, `${direction}: ${only!.text}`).toBeGreaterThan(800);
      expect(ms, `${direction}: ${only!.text}`).toBeLessThan(1300);
      expect(only!.transcribe_id).toBe(transcribeId);
    }
    expect(heard('in')[0]!.offset_ms - heard('out')[0]!.offset_ms).toBeGreaterThan(1200);
    // The legs are gone: nothing of them is left in Asterisk.
    caller.hangup();
    await eventually(() => !stack.simulator.channels().some((channel) => channel.id.startsWith('snoop-')), 'the legs to be removed');
  });
});
