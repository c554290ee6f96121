import { rms, type Caller } from '@avp/asterisk-simulator';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';

interface CallBody {
  id: string;
  channel_id: string;
  activeflow_id: string | null;
  direction: string;
  status: string;
  hangup_by: string;
  hangup_reason: string;
}

const firstQuestion = 'Hello, this is a short survey from the Riverside clinic. How was your visit?';
const secondQuestion = 'Thank you. Would you come to us again?';
const closing = 'Thank you for your answers. Goodbye.';
const surveyScript = {
  script: [
    { say: firstQuestion },
    { wait: 'answer', into: 'rating' },
    { say: secondQuestion },
    { wait: 'answer', into: 'again' },
    { tool: 'set_variables', arguments: { variables: { survey_rating: '${rating}', survey_again: '${again}' } } },
    { say: closing },
    { end: true },
  ],
};

/** The called party says `text` (espeak-ng at 16 kHz) once the AI's sentence `after` has been stored (played to the end). */
async function answerAfter(api: Api, aicallId: string, party: Caller, after: string, text: string): Promise<void> {
  await eventually(
    async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)).result as { role: string; content: string }[]).some(
      (message) => message.role === 'assistant' && message.content === after,
    ),
    `"${after}" to be played`,
    30_000,
  );
  await party.play((await resampleClip(await synthesizeWithEspeak(text, { voice: 'en-us' }), 16_000)).samples);
}

/**
 * Outgoing calls end to end, on both run modes with the simulator: `POST /v1.0/calls` calls a
 * party that answers, and the call's flow hands it to an AI (offline scripted engine, offline
 * recogniser) that runs a two-question survey whose answers land in the activeflow's variables
 * through `set_variables`; calls that are not answered or are busy end so, without a flow; another
 * customer can neither see nor hang up the call.
 */
await describeModes('outgoing calls with an AI survey', (mode) => {
  const stack = useStack(() => ({ mode, name: 'outgoing-calls' }));
  const api: Api = (...args) => stack.api(...args);
  const source = { type: 'tel', target: '+15550107000' };

  it('calls a party that answers; the AI runs a survey and stores the answers in variables', async () => {
    const ai = await api(
      'POST',
      '/v1.0/ais',
      scriptedAi(surveyScript, { name: 'survey', stt_type: 'local', tool_names: ['set_variables', 'stop_service'], parameter: { stt_phrases: ['excellent', 'terrible', 'yes please', 'no thanks'] } }),
    );
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: ai.id } }, { type: 'hangup' }] });
    const target = '+15550107001';
    stack.simulator.scriptOutbound(target, { kind: 'answer', afterMs: 500 });
    const answered = stack.simulator.waitForOutboundCall(target, 10_000);
    const created = await api('POST', '/v1.0/calls', { source, destinations: [{ type: 'tel', target }], flow_id: flow.id, variables: { survey: 'clinic' } });
    const [call] = created.calls as CallBody[];
    expect(call).toMatchObject({ direction: 'outgoing', status: 'dialing', destination: target });

    const party = await answered;
    await party.waitForAnswer(10_000);
    await eventually(async () => (await api('GET', `/v1.0/calls/${call!.id}`)).activeflow_id !== null, 'the flow to start', 10_000);
    const activeflowId = (await api('GET', `/v1.0/calls/${call!.id}`)).activeflow_id as string;
    let aicallId = '';
    await eventually(async () => {
      aicallId = ((await api('GET', '/v1.0/aicalls')).result as { id: string; activeflow_id: string }[]).find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
      return aicallId !== '';
    }, 'the AI session', 20_000);
    await answerAfter(api, aicallId, party, firstQuestion, 'excellent');
    await answerAfter(api, aicallId, party, secondQuestion, 'yes please');
    await party.waitForHangup(60_000);
    // The called party heard the AI (three sentences of espeak-ng speech).
    expect(rms(party.recording())).toBeGreaterThan(300);

    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end', 20_000);
    const activeflow = await api('GET', `/v1.0/activeflows/${activeflowId}`);
    expect(activeflow).toMatchObject({ reference_type: 'call', reference_id: call!.id, end_reason: 'hangup action' });
    expect(activeflow.variables).toMatchObject({
      survey: 'clinic',
      survey_rating: 'excellent',
      survey_again: 'yes please',
      'voipbin.call.direction': 'outgoing',
      'voipbin.aicall.id': aicallId,
    });
    await eventually(async () => (await api('GET', `/v1.0/calls/${call!.id}`)).status === 'hangup', 'the call to end', 10_000);
    expect(await api('GET', `/v1.0/calls/${call!.id}`)).toMatchObject({ status: 'hangup', hangup_by: 'local', hangup_reason: 'normal' });
    const said = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)).result as { role: string; content: string }[])
      .reverse()
      .filter((message) => message.role === 'user')
      .map((message) => message.content);
    expect(said).toEqual(['excellent', 'yes please']);

    // Another customer: the call is not there for them.
    const other = stack.apiAs(await stack.createCustomer('outgoing-calls-other'));
    await expect(other('GET', `/v1.0/calls/${call!.id}`)).rejects.toThrow(/404/);
    await expect(other('POST', `/v1.0/calls/${call!.id}/hangup`)).rejects.toThrow(/404/);
    await expect(other('POST', '/v1.0/calls', { source, destinations: [{ type: 'tel', target }], flow_id: flow.id })).rejects.toThrow(/404/);
  }, 150_000);

  it('ends a call nobody answers noanswer and a busy one busy, without running their flow', async () => {
    stack.simulator.scriptOutbound('+15550107002', { kind: 'ring' });
    stack.simulator.scriptOutbound('+15550107003', { kind: 'busy', afterMs: 300 });
    const created = await api('POST', '/v1.0/calls', {
      source,
      destinations: [
        { type: 'tel', target: '+15550107002' },
        { type: 'tel', target: '+15550107003' },
      ],
      actions: [{ type: 'answer' }, { type: 'talk', option: { text: 'Nobody hears this.' } }],
      timeout: 2,
    });
    const calls = created.calls as CallBody[];
    expect(calls.map((entry) => entry.status)).toEqual(['dialing', 'dialing']);
    for (const entry of calls) await eventually(async () => (await api('GET', `/v1.0/calls/${entry.id}`)).status === 'hangup', 'the call to end', 15_000);
    const ended = await Promise.all(calls.map(async (entry) => (await api('GET', `/v1.0/calls/${entry.id}`)) as unknown as CallBody));
    expect(ended.map((entry) => [entry.hangup_reason, entry.hangup_by, entry.activeflow_id])).toEqual([
      ['noanswer', 'remote', null],
      ['busy', 'remote', null],
    ]);
    const activeflows = (await api('GET', '/v1.0/activeflows?page_size=100')).result as { reference_id: string | null }[];
    expect(activeflows.filter((activeflow) => calls.some((entry) => entry.id === activeflow.reference_id))).toEqual([]);
    expect(stack.simulator.channels().filter((channel) => calls.some((entry) => entry.channel_id === channel.id))).toEqual([]);
  }, 60_000);
});
