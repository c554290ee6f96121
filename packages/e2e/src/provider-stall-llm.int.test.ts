import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { describeModes } from './testing/stack.ts';
import { modelOf, useStallingStack } from './testing/stalling-vendors.ts';

const backupKey = 'sk-test-backup';

/**
 * Never silent, never stuck, the LLM side: a chat-completions vendor (reached through the real
 * `openai` SDK) that takes the request and never sends a token, through all three services
 * and the Asterisk simulator. The fallback is the AI's own `fallback_engine_model`; the stall
 * timeout its `turn_config.stall.timeout_secs`: 1 s here, as espeak-ng, which says the filler
 * and the apology, is watched by the same timeout and starts a process per text.
 */
await describeModes('an LLM that stalls, through the simulator', (mode) => {
  const { stack, api, llmVendor, llmStalls, callAi } = useStallingStack(mode, 'stall-llm');

  it('refuses fallback settings that could never be used, and never shows the fallback key', async () => {
    const base = { name: 'fallbacks', engine_model: 'openai.gpt-primary' };
    const keyAlone = await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_engine_key: 'sk-x' } });
    expect(keyAlone.status).toBe(400);
    expect(JSON.stringify(keyAlone.body)).toContain('fallback_engine_key');
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_engine_model: 'gpt-4o' } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_tts_type: 'robot' } })).status).toBe(400);
    expect((await stack.request('POST', '/v1.0/ais', { body: { ...base, fallback_tts_voice_id: 'en-us' } })).status).toBe(400);
    const ai = await api('POST', '/v1.0/ais', { ...base, fallback_engine_model: 'openai.gpt-backup', fallback_engine_key: backupKey, fallback_tts_type: 'local' });
    expect(ai).toMatchObject({ fallback_engine_model: 'openai.gpt-backup', fallback_engine_key_set: true, fallback_tts_type: 'local', fallback_tts_voice_id: '' });
    expect(JSON.stringify(ai)).not.toContain(backupKey);
    // PUT keeps the fallbacks when the body leaves them out.
    expect(await api('PUT', `/v1.0/ais/${ai.id}`, base)).toMatchObject({ fallback_engine_model: 'openai.gpt-backup', fallback_engine_key_set: true, fallback_tts_type: 'local' });
  });

  it('LLM without a first token: a filler is said, the fallback model answers, the filler is not stored', async () => {
    llmStalls(['gpt-primary'], 'Backup here.');
    const { caller, aicallId, stored, stalls } = await callAi({
      fallback_engine_model: 'openai.gpt-backup',
      fallback_engine_key: backupKey,
      turn_config: { stall: { timeout_secs: 1, filler_text: 'Hold on.' } },
    });
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'Backup here.'), 'the fallback answer', 20_000);
    expect(llmVendor().requests.slice(-3).map(modelOf)).toEqual(['gpt-primary', 'gpt-primary', 'gpt-backup']);
    expect(llmVendor().requests.at(-1)!.headers.authorization).toBe(`Bearer ${backupKey}`);
    await eventually(() => stalls().length === 3, 'the stall events');
    expect(stalls()).toEqual(['llm filler', 'llm retry', 'llm fallback']);
    expect((await stored()).filter((message) => message.role === 'assistant').map((message) => message.content)).toEqual(['Backup here.']);
    expect(await api('GET', `/v1.0/aicalls/${aicallId}`)).toMatchObject({ ai_fallback_engine_model: 'openai.gpt-backup' });
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end', 20_000);
  }, 60_000);

  it('LLM stalls on every try: the AI apologises, the session ends with the reason and the flow goes on', async () => {
    llmStalls(['gpt-primary', 'gpt-backup']);
    const apology = 'Sorry, goodbye.';
    const { caller, aicallId, activeflowId, stored, stalls, terminated } = await callAi({
      fallback_engine_model: 'openai.gpt-backup',
      turn_config: { stall: { timeout_secs: 1, apology_text: apology } },
    });
    await caller.waitForHangup(40_000); // apology, then the flow's talk and hangup
    await eventually(() => terminated() !== undefined, 'the pipeline_terminated event');
    expect(terminated()!.data).toMatchObject({ reason: expect.stringMatching(/^llm stalled/), error: { category: 'timeout' } });
    expect(stalls()).toEqual(['llm filler', 'llm retry', 'llm fallback', 'llm gave_up']);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicallId}`)).status === 'terminated', 'the AIcall to end');
    const messages = await stored();
    expect(messages.filter((message) => message.role === 'assistant').map((message) => message.content)).toEqual([apology]);
    expect(messages.some((message) => message.role === 'notification' && /llm stalled/.test(message.content))).toBe(true);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({ end_reason: 'hangup action' });
  }, 60_000);
});
