import { registryProviders } from '@avp/pipeline-manager';
import { rpcCall } from '@avp/shared';
import { eventually, eventuallyFound } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes, useStack } from './testing/stack.ts';
import { stretchStt } from './testing/stretch-stt.ts';

interface Transcript {
  direction: 'in' | 'out';
  message: string;
  offset_ms: number;
  transcribe_id: string;
}

/**
 * `POST /v1.0/transcribes` on a live call through the simulator: a transcriber per direction in
 * pipeline-manager hears its side on a snoop leg (the recogniser is a double that reports each
 * stretch of sound), transcripts are stored and listed, the transcription ends with the call,
 * speech-to-text seconds are billed, and another customer sees none of it.
 */
await describeModes('live transcription of a call', (mode) => {
  const stack = useStack(() => ({
    mode,
    name: 'transcribes',
    aiManager: { transcribes: { sttType: 'stretch' } },
    pipelineManager: { providers: { ...registryProviders, stt: () => stretchStt() } },
  }));

  it('transcribes both sides of a call until it hangs up; another customer sees nothing of it', async () => {
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'block' }]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550002345' });
    await caller.waitForAnswer(10_000);
    const calls = (await stack.api('GET', '/v1.0/calls')).result as { id: string; customer_id: string; channel_id: string }[];
    const call = calls.find((entry) => entry.channel_id === caller.id)!;

    const other = stack.apiAs(await stack.createCustomer('transcribes-other'));
    await expect(other('POST', '/v1.0/transcribes', { reference_type: 'call', reference_id: call.id })).rejects.toThrow(/404/);

    const transcribe = await stack.api('POST', '/v1.0/transcribes', { reference_type: 'call', reference_id: call.id, language: 'en-US', direction: 'both' });
    expect(transcribe).toMatchObject({ reference_type: 'call', reference_id: call.id, direction: 'both', status: 'progressing' });
    await expect(other('GET', `/v1.0/transcribes/${transcribe.id as string}`)).rejects.toThrow(/404/);

    // A second of tone to the caller, then a second of the caller's own.
    await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${call.id}/play`, { customer_id: call.customer_id, stream_urls: ['tone:440'] });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await rpcCall(stack.bus, 'flow-manager', 'POST', `/v1/calls/${call.id}/media_stop`, { customer_id: call.customer_id });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await caller.play(new Int16Array(16_000).map((_, index) => Math.round(8000 * Math.sin((2 * Math.PI * 600 * index) / 16_000))));

    const transcripts = async () => ((await stack.api('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id as string}`)).result as Transcript[]).reverse();
    await eventually(async () => (await transcripts()).length === 2, 'a transcript of each side', 15_000);
    const [first, second] = await transcripts();
    expect(first).toMatchObject({ direction: 'out', transcribe_id: transcribe.id });
    expect(second).toMatchObject({ direction: 'in' });
    expect(second!.offset_ms - first!.offset_ms).toBeGreaterThan(1200);
    for (const entry of [first!, second!]) {
      const ms = Number(/sound of (\d+) ms/.exec(entry.message)?.[1]);
      expect(ms, entry.message).toBeGreaterThan(800);
      expect(ms, entry.message).toBeLessThan(1300);
    }
    await expect(other('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id as string}`)).rejects.toThrow(/404/);

    caller.hangup();
    await eventually(async () => (await stack.api('GET', `/v1.0/transcribes/${transcribe.id as string}`)).status === 'done', 'the transcription to end with the call', 15_000);
    await eventually(() => !stack.simulator.channels().some((channel) => channel.id.startsWith('snoop-')), 'the legs to be removed');
    // Speech-to-text seconds are billed (no AIcall), one entry per direction.
    const account = ((await stack.api('GET', '/v1.0/billing-accounts')).result as { id: string }[])[0]!;
    await eventually(async () => {
      const ledger = (await stack.api('GET', `/v1.0/billing-accounts/${account.id}/ledger?page_size=100`)).result as { usage_kind: string; provider: string; audio_seconds: number | null }[];
      return ledger.filter((entry) => entry.usage_kind === 'stt' && entry.provider === 'stretch.stt').length === 2;
    }, 'the STT usage to be billed');
  });

  it('transcribe_start and transcribe_stop in a call flow: what the caller hears is transcribed while the flow runs', async () => {
    const number = await stack.numberWithFlow([
      { type: 'answer' },
      { type: 'transcribe_start', option: { direction: 'out', language: 'en-US' } },
      { type: 'talk', option: { text: 'Thank you for calling. This call is transcribed.' } },
      { type: 'transcribe_stop' },
      { type: 'block' },
    ]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550002346' });
    await caller.waitForAnswer(10_000);
    // The call's record names its activeflow a moment after the answer.
    const call = await eventuallyFound(
      async () => ((await stack.api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string | null }[]).find((entry) => entry.channel_id === caller.id && entry.activeflow_id),
      'the call and its activeflow',
      15_000,
    );
    const transcribeOfCall = async () => ((await stack.api('GET', '/v1.0/transcribes')).result as { id: string; reference_id: string; status: string; direction: string }[]).find((entry) => entry.reference_id === call.id);
    await eventually(async () => (await transcribeOfCall())?.status === 'done', 'transcribe_stop to end the transcription', 30_000);
    const transcribe = (await transcribeOfCall())!;
    expect(transcribe.direction).toBe('out');
    // The talk was heard on the out side, while the call itself goes on (block).
    const transcripts = (await stack.api('GET', `/v1.0/transcripts?transcribe_id=${transcribe.id}`)).result as Transcript[];
    expect(transcripts.length).toBeGreaterThanOrEqual(1);
    expect(transcripts.every((entry) => entry.direction === 'out')).toBe(true);
    const activeflow = await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`);
    expect((activeflow.variables as Record<string, string>)['voipbin.transcribe.id']).toBe(transcribe.id);
    expect(activeflow.status).not.toBe('ended');
    caller.hangup();
  });
});
