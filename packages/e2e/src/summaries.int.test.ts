import { registryProviders } from '@avp/pipeline-manager';
import type { Aisummary } from '@avp/shared';
import { eventually, eventuallyFound } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { askNameScript, describeModes, scriptedAi, useStack } from './testing/stack.ts';
import { stretchStt } from './testing/stretch-stt.ts';

/**
 * `ai_summary` in a call flow, end to end: the flow asks for a summary of its own call (a
 * transcription of both sides starts), an AI talks with the caller, the flow hangs up; the
 * transcription ends with the call and the platform's default engine (`local`, the extractive
 * summariser) writes the summary from what each side said; the on-end flow runs with the
 * summary's variables. The recogniser is a double that reports each stretch of sound.
 */
await describeModes('AI summaries of calls', (mode) => {
  const stack = useStack(() => ({
    mode,
    name: 'summaries',
    aiManager: { transcribes: { sttType: 'stretch' } },
    pipelineManager: { providers: { ...registryProviders, stt: () => stretchStt() } },
  }));

  it('summarises a call with an AI after it hangs up, runs the on-end flow with the summary, and shows it to no one else', async () => {
    const ai = await stack.api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const onEnd = await stack.api('POST', '/v1.0/flows', {
      actions: [{ type: 'variable_set', option: { key: 'summary_of', value: '${voipbin.ai_summary.reference_type} ${voipbin.ai_summary.reference_id}' } }],
    });
    const number = await stack.numberWithFlow([
      { type: 'answer' },
      { type: 'ai_summary', option: { reference_type: 'call', on_end_flow_id: onEnd.id } },
      { type: 'ai_talk', option: { ai_id: ai.id } },
      { type: 'hangup' },
    ]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550003456' });
    await caller.waitForAnswer(10_000);
    const call = await eventuallyFound(
      async () => ((await stack.api('GET', '/v1.0/calls')).result as { id: string; channel_id: string; activeflow_id: string | null }[]).find((entry) => entry.channel_id === caller.id && entry.activeflow_id),
      'the call and its flow',
      15_000,
    );

    // The flow went on at once, naming the summary; the call's transcription of both sides runs.
    const summaryId = await eventuallyFound(async () => ((await stack.api('GET', `/v1.0/activeflows/${call.activeflow_id}`)).variables as Record<string, string>)['voipbin.ai_summary.id'], 'the summary id variable', 15_000);
    const asked = (await stack.api('GET', `/v1.0/aisummaries/${summaryId}`)) as unknown as Aisummary;
    expect(asked).toMatchObject({ status: 'progressing', reference_type: 'call', reference_id: call.id, activeflow_id: call.activeflow_id });
    expect(await stack.api('GET', `/v1.0/transcribes/${asked.transcribe_id}`)).toMatchObject({ reference_id: call.id, direction: 'both', status: 'progressing' });

    // The AI greets; the caller answers with a second of sound, and hangs up once both sides were heard.
    await caller.waitForAudio(20_000);
    await caller.play(new Int16Array(16_000).map((_, index) => Math.round(8000 * Math.sin((2 * Math.PI * 600 * index) / 16_000))));
    const heard = async () => ((await stack.api('GET', `/v1.0/transcripts?transcribe_id=${asked.transcribe_id}&page_size=100`)).result as { direction: string }[]).map((entry) => entry.direction);
    await eventually(async () => (await heard()).includes('in') && (await heard()).includes('out'), 'both sides to be heard', 20_000, 100);
    caller.hangup();
    const summary = await eventuallyFound(
      async () => {
        const current = (await stack.api('GET', `/v1.0/aisummaries/${summaryId}`)) as unknown as Aisummary;
        return current.status === 'progressing' ? undefined : current;
      },
      'the summary to be written after the hang-up',
      60_000,
    );
    expect(summary.status, summary.failure_reason).toBe('done');
    // What the caller "said" (the recogniser double's words for the caller's second of sound) is quoted.
    expect(summary.content).toMatch(/^Call Type\n/);
    expect(summary.content).toMatch(/^- Caller: sound of \d+ ms$/m);
    expect(summary.content).toMatch(/^- Agent: sound of \d+ ms$/m);
    expect(await stack.api('GET', `/v1.0/transcribes/${asked.transcribe_id}`)).toMatchObject({ status: 'done' });

    // The on-end flow ran for the summary (reference_type ai) with its variables.
    const onEndRun = await eventuallyFound(
      async () => ((await stack.api('GET', '/v1.0/activeflows?page_size=100')).result as { id: string; reference_type: string; reference_id: string }[]).find((entry) => entry.reference_type === 'ai' && entry.reference_id === summaryId),
      'the on-end flow to start',
      15_000,
    );
    // Its variable_set runs just after it starts: read it once the flow has ended.
    const ended = await eventuallyFound(
      async () => {
        const activeflow = await stack.api('GET', `/v1.0/activeflows/${onEndRun.id}`);
        return activeflow.status === 'ended' ? activeflow : undefined;
      },
      'the on-end flow to run',
      15_000,
    );
    const variables = ended.variables as Record<string, string>;
    expect(variables).toMatchObject({
      'voipbin.ai_summary.id': summaryId,
      'voipbin.ai_summary.reference_type': 'call',
      'voipbin.ai_summary.reference_id': call.id,
      'voipbin.ai_summary.language': 'en-US',
      'voipbin.ai_summary.content': summary.content,
      summary_of: `call ${call.id}`,
    });

    // Another customer sees none of it.
    const other = stack.apiAs(await stack.createCustomer('summaries-other'));
    await expect(other('GET', `/v1.0/aisummaries/${summaryId}`)).rejects.toThrow(/404/);
    expect((await other('GET', '/v1.0/aisummaries')).result).toEqual([]);
  }, 120_000);
});
