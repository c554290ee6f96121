import { registryProviders } from '@avp/pipeline-manager';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** The closing lines pipeline-manager says itself (src/pipeline/closing-lines.ts, English). */
const timeLimitLine = 'We have reached the time limit for this call. Goodbye.';
const noInputLine = 'I have not heard anything from you, so I will end the call now. Goodbye.';

/** A script that waits for the caller and, told of silence, asks whether anyone is there. */
const patientScript = {
  script: [
    { say: 'Hello, this is the patient assistant. How can I help?' },
    { label: 'ask' },
    { wait: 'answer', into: 'answer' },
    { goto: 'silent', if: { variable: 'answer', matches: 'silent' } },
    { say: 'Thank you.' },
    { goto: 'ask' },
    { label: 'silent' },
    { say: 'Are you still there?' },
    { goto: 'ask' },
  ],
};

interface StoredMessage {
  role: string;
  content: string;
}

/**
 * Session limits through all three services and the simulator, on both run modes: `ai_talk`'s
 * `duration` ends the session with a closing line and the flow goes on after ai_talk; an AI's
 * `no_input_timeout` re-prompts a silent caller `no_input_max` times, then says goodbye and ends
 * the session the same way. The caller never says a word.
 */
await describeModes('session limits: ai_talk duration and no-input re-prompts', (mode) => {
  const stack = useStack({
    mode,
    name: 'session-limits',
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt([]) } },
  });
  const api: Api = (...args) => stack.api(...args);

  async function sessionOf(callerChannelId: string): Promise<{ id: string; activeflowId: string }> {
    let found: { id: string; activeflowId: string } | undefined;
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
      const activeflowId = calls.result.find((entry) => entry.channel_id === callerChannelId)?.activeflow_id;
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      const id = aicalls.result.find((entry) => activeflowId !== undefined && entry.activeflow_id === activeflowId)?.id;
      if (id && activeflowId) found = { id, activeflowId };
      return found !== undefined;
    }, 'the session');
    return found!;
  }

  const messagesOf = async (aicallId: string) =>
    ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}`)) as { result: StoredMessage[] }).result.reverse().filter((message) => message.role !== 'system');

  it('ai_talk duration: the closing line when the time is up, then the flow goes on after ai_talk', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(patientScript, { name: 'time limited' }));
    const number = await stack.numberWithFlow([
      { type: 'answer' },
      { type: 'ai_talk', option: { ai_id: ai.id, duration: 8 } },
      { type: 'talk', option: { text: 'You are back in the flow.' } },
      { type: 'hangup' },
    ]);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558890000' });
    // The caller's clock (call time, ms) against the wall clock, read as the greeting's first audio arrives.
    const greetingAtCallMs = await caller.waitForAudio(20_000);
    const callClockOrigin = Date.now() - greetingAtCallMs;
    const session = await sessionOf(caller.id);
    expect(await api('GET', `/v1.0/aicalls/${session.id}`)).toMatchObject({ duration: 8, ai_no_input_timeout: 0 });

    await caller.waitForHangup(60_000);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${session.id}`)).status === 'terminated', 'the AIcall to end');
    const aicall = (await api('GET', `/v1.0/aicalls/${session.id}`)) as { tm_create: string; tm_end: string };
    const ranFor = (Date.parse(aicall.tm_end) - Date.parse(aicall.tm_create)) / 1000;
    // Not before the limit, and not much after it (the closing line is about 3 s of speech).
    expect(ranFor).toBeGreaterThanOrEqual(8);
    expect(ranFor).toBeLessThan(16);
    expect((await messagesOf(session.id)).map((message) => [message.role, message.content])).toEqual([
      ['assistant', 'Hello, this is the patient assistant. How can I help?'],
      ['assistant', timeLimitLine],
    ]);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${session.activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${session.activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
    // The flow's talk after ai_talk was heard: audio that began only once the session had ended
    // (the closing line was heard to its end before the pipeline ended).
    const sessionEndedAtCallMs = Date.parse(aicall.tm_end) - callClockOrigin;
    expect(caller.heardSegments.some((segment) => segment.startMs >= sessionEndedAtCallMs - 50)).toBe(true);
  }, 120_000);

  it('no input: two re-prompts from the LLM, then a goodbye, and the flow goes on after ai_talk', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(patientScript, { name: 'no input', no_input_timeout: 2, no_input_max: 2 }));
    const number = await stack.numberWithFlow([
      { type: 'answer' },
      { type: 'ai_talk', option: { ai_id: ai.id } },
      { type: 'talk', option: { text: 'You are back in the flow.' } },
      { type: 'hangup' },
    ]);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558890001' });
    await caller.waitForAudio(20_000);
    const session = await sessionOf(caller.id);
    expect(await api('GET', `/v1.0/aicalls/${session.id}`)).toMatchObject({ ai_no_input_timeout: 2, ai_no_input_max: 2, duration: 0 });

    await caller.waitForHangup(90_000);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${session.id}`)).status === 'terminated', 'the AIcall to end');
    const silence = '[The caller has been silent for 2 seconds]';
    expect((await messagesOf(session.id)).map((message) => [message.role, message.content])).toEqual([
      ['assistant', 'Hello, this is the patient assistant. How can I help?'],
      ['user', silence],
      ['assistant', 'Are you still there?'],
      ['user', silence],
      ['assistant', 'Are you still there?'],
      ['assistant', noInputLine],
    ]);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${session.activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${session.activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
  }, 120_000);
});

