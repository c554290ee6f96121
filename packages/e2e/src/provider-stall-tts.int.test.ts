import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes } from './testing/stack.ts';
import { useStallingStack } from './testing/stalling-vendors.ts';

/**
 * Never silent, never stuck, the TTS side: a speech vendor (the `openai` SDK's speech endpoint)
 * that takes the text and never sends audio, through all three services and the Asterisk
 * simulator. The fallback is the AI's own `fallback_tts_type` (espeak-ng here).
 */
await describeModes('a TTS that stalls, through the simulator', (mode) => {
  const { api, speechVendor, llmStalls, callAi } = useStallingStack(mode, 'stall-tts');

  it('TTS without audio: the fallback TTS says the filler and the answer', async () => {
    llmStalls([]);
    // espeak-ng (the fallback) starts a process per text: 1 s leaves it room on a busy machine.
    const { caller, aicallId, stored, stalls } = await callAi({
      tts_type: 'openai',
      tts_voice_id: 'alloy',
      fallback_tts_type: 'local',
      turn_config: { stall: { timeout_secs: 1, filler_text: 'Hold on.' } },
    });
    await caller.waitForAudio(20_000); // espeak-ng, the fallback, speaks
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'Hello.'), 'the answer', 20_000);
    await eventually(() => stalls().length === 3, 'the stall events');
    expect(stalls()).toEqual(['tts filler', 'tts retry', 'tts fallback']);
    expect(speechVendor().requests.slice(-2).map((request) => (request.json as { input: string }).input)).toEqual(['Hello.', 'Hello.']);
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 60_000);

  it('TTS stalls with no fallback: the session ends with the reason and the flow goes on', async () => {
    llmStalls([]);
    const { caller, aicallId, stored, stalls, terminated } = await callAi({ tts_type: 'openai', tts_voice_id: 'alloy' });
    await caller.waitForHangup(40_000); // the flow's talk (its own espeak-ng), then hangup
    await eventually(() => terminated() !== undefined, 'the pipeline_terminated event');
    expect(terminated()!.data).toMatchObject({ reason: expect.stringMatching(/^tts stalled: no audio within 1 s/), error: { category: 'timeout' } });
    expect(stalls()).toEqual(['tts retry', 'tts gave_up']);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
    expect((await stored()).some((message) => message.role === 'notification' && /tts stalled/.test(message.content))).toBe(true);
  }, 60_000);
});
