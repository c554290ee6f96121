import { registryProviders } from '@avp/pipeline-manager';
import { rpcCall } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { aiTalkActions, askNameScript, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/**
 * A voice AI session through all three services: flow-manager's `ai_talk` asks ai-manager
 * to start the session; ai-manager writes the prompts and variables and asks
 * pipeline-manager for a pipeline; the offline scripted engine talks with the caller; the
 * caller hangs up and everything is cleaned up. Only STT and VAD are doubles (no offline
 * speech recogniser exists).
 */
await describeModes('an AI session from ai_talk to hang-up, across the three services', (mode) => {
  const stack = useStack({
    mode,
    name: 'ai-session',
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
  });
  const api: Api = (...args) => stack.api(...args);

  it('starts the session from the flow, talks, and cleans up when the caller hangs up', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id));

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880000' });
    await caller.waitForAudio(20_000); // The scripted greeting, spoken by espeak-ng.
    const list = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; status: string; reference_id: string; activeflow_id: string }[] };
    const aicall = list.result[0]!;
    // The pipeline's status report travels on its own (the report outbox): it may land just after the greeting.
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'progressing', 'the AIcall to progress', 10_000);
    // The greeting can reach the caller before flow-manager has stored the block ai_talk answered with.
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`)).status === 'waiting', 'the flow to wait for the AI', 10_000);
    const activeflow = await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`);
    expect(activeflow).toMatchObject({
      status: 'waiting',
      current_stack_id: aicall.id,
      variables: expect.objectContaining({ 'voipbin.aicall.id': aicall.id, 'voipbin.aicall.ai_engine_model': 'local.scripted' }),
    });

    await caller.waitForSilence(20_000);
    await eventually(async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: unknown[] }).result.length >= 3, 'the greeting to be stored', 20_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    const messages = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string }[] }).result;
    await eventually(async () => (await messages()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end', 20_000);
    await eventually(() => stack.pipelineManager.sessions.size === 0, 'the pipeline to stop');
    await eventually(() => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the media leg to go');
    const stored = (await messages()).reverse();
    expect(stored.map((message) => message.role)).toEqual(['system', 'system', 'assistant', 'user', 'assistant']);
    expect(stored[1]!.content).toContain('"script"');
    expect(stored[3]!.content).toBe('Ada');
    expect((await api('GET', `/v1.0/aicalls/${aicall.id}`)).tm_end).not.toBeNull();
    // The hang-up reaches the AIcall and the activeflow independently (both from flow-manager's event).
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`)).status === 'ended', 'the activeflow to end', 20_000);
  }, 120_000);

  it('runs tools: set_variables, then stop_service hands the call back to the flow', async () => {
    const toolScript = {
      script: [
        { say: 'Hello again. What is your name?' },
        { wait: 'answer', into: 'name' },
        { tool: 'set_variables', arguments: { variables: { caller_name: '${name}' } } },
        { say: 'Thank you, ${name}. I am handing you back.' },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', scriptedAi(toolScript, { name: 'offline with tools', tool_names: ['set_variables', 'stop_service'] }));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'Welcome back to the flow, ${caller_name}.'));

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880001' });
    await caller.waitForAudio(20_000);
    await caller.waitForSilence(20_000);
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    let sessionId = '';
    await eventually(async () => {
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] };
      sessionId = aicalls.result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
      return sessionId !== '';
    }, 'the session');
    // The greeting is stored once it has been played to the end: the pipeline listens now.
    const storedRoles = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${sessionId}`)) as { result: { role: string }[] }).result.map((message) => message.role);
    await eventually(async () => (await storedRoles()).includes('assistant'), 'the greeting to be stored', 20_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await caller.waitForHangup(60_000);

    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    const activeflow = await api('GET', `/v1.0/activeflows/${activeflowId}`);
    expect(activeflow).toMatchObject({ end_reason: 'hangup action', variables: expect.objectContaining({ caller_name: 'Ada' }) });
    const aicall = ((await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string; status: string }[] }).result.find(
      (entry) => entry.activeflow_id === activeflowId,
    )!;
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end');
    const stored = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string; tool_calls: { function: { name: string } }[] }[] }).result.reverse();
    expect(stored.map((message) => message.role)).toEqual(['system', 'system', 'assistant', 'user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(stored[4]!.tool_calls[0]!.function.name).toBe('set_variables');
    expect(JSON.parse(stored[5]!.content)).toMatchObject({ result: 'success' });
    expect(stored[6]!.tool_calls[0]!.function.name).toBe('stop_service');
  }, 120_000);

  it('stop_flow ends the session and the whole call: the flow after ai_talk does not run', async () => {
    const stopScript = {
      script: [{ say: 'Thank you for calling. Goodbye.' }, { tool: 'stop_flow', arguments: {} }, { end: true }],
    };
    const ai = await api('POST', '/v1.0/ais', scriptedAi(stopScript, { name: 'hang up', tool_names: ['stop_flow'] }));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id, 'This must never be said.'));

    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880003' });
    await caller.waitForAudio(20_000);
    await caller.waitForHangup(30_000);
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    const activeflow = (await api('GET', `/v1.0/activeflows/${activeflowId}`)) as { end_reason: string };
    expect(activeflow.end_reason).toMatch(/stop_flow/);
    const aicall = ((await api('GET', '/v1.0/aicalls')) as { result: { id: string; activeflow_id: string }[] }).result.find((entry) => entry.activeflow_id === activeflowId)!;
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end');
    const stored = ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string; tool_calls: { function: { name: string } }[] }[] }).result.reverse();
    expect(stored.flatMap((message) => message.tool_calls.map((call) => call.function.name))).toEqual(['stop_flow']);
    // The flow ended while it still waited for the AI: its talk and hangup after ai_talk never ran.
    expect(activeflow).toMatchObject({ current_stack_id: aicall.id, current_action: { type: 'block' } });
    await eventually(async () => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the AI media leg to go', 10_000);
  }, 120_000);

  it('connect_call ends the session and bridges the caller to the destination', async () => {
    const connectScript = {
      script: [
        { say: 'Hello, I will put you through to Bob now.' },
        { tool: 'connect_call', arguments: { destinations: [{ type: 'endpoint', target: 'PJSIP/bob' }] } },
        { end: true },
      ],
    };
    const ai = await api('POST', '/v1.0/ais', scriptedAi(connectScript, { name: 'transfer', stt_language: undefined, tool_names: ['connect_call'] }));
    const number = await stack.numberWithFlow(aiTalkActions(ai.id));

    const outbound = stack.simulator.nextOutboundCall(60_000);
    const caller = stack.simulator.placeCall({ app: 'avp', extension: number, callerNumber: '+15558880002' });
    await caller.waitForAudio(20_000);
    const bob = await outbound;
    await bob.waitForAnswer(10_000);
    await eventually(() => !stack.simulator.channels().some((channel) => channel.name.startsWith('UnicastRTP')), 'the AI media leg to go', 15_000);
    const bobHears = bob.waitForAudio(10_000);
    await caller.play(Int16Array.from({ length: 16_000 * 0.5 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 440 * i) / 16_000))));
    await bobHears;
    bob.hangup();
    await caller.waitForHangup(20_000); // After the connect, the flow's hangup runs.
    const calls = (await api('GET', '/v1.0/calls')) as { result: { channel_id: string; activeflow_id: string }[] };
    const activeflowId = calls.result.find((entry) => entry.channel_id === caller.id)!.activeflow_id;
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the flow to end');
    expect(await api('GET', `/v1.0/activeflows/${activeflowId}`)).toMatchObject({
      end_reason: 'hangup action',
      variables: expect.objectContaining({ 'voipbin.connect.answered': 'true' }),
    });
  }, 120_000);

  it('answers bad tool calls with failed results, never errors', async () => {
    const ai = await api('POST', '/v1.0/ais', { name: 'tools', engine_model: 'local.scripted', tool_names: ['get_variables', 'get_aicall_messages'] });
    const aicall = await api('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: ai.id });
    const execute = (name: string, args: string) =>
      rpcCall<{ result: string; message: string; run_llm: boolean }>(stack.bus, 'ai-manager', 'POST', `/v1/aicalls/${String(aicall.id)}/tool_execute`, {
        customer_id: aicall.customer_id,
        id: 'call-x',
        name,
        arguments: args,
      });
    expect(await execute('stop_flow', '{}')).toMatchObject({ result: 'failed', message: 'The tool stop_flow is not enabled for this AI.' });
    expect(await execute('dance', '{}')).toMatchObject({ result: 'failed', message: 'There is no tool named dance.' });
    expect(await execute('get_aicall_messages', '{not json')).toMatchObject({ result: 'failed', message: 'The arguments are not valid JSON.' });
    expect(await execute('get_aicall_messages', '{"aicall_id":"nope"}')).toMatchObject({ result: 'failed', message: expect.stringContaining('Invalid arguments') });
    expect(await execute('get_variables', '{}')).toMatchObject({ result: 'failed', message: 'This AI conversation has no flow variables.' });
    // Another customer's conversation is "not found", like a missing one.
    const missing = await execute('get_aicall_messages', JSON.stringify({ aicall_id: '00000000-0000-4000-8000-000000000000' }));
    expect(missing).toMatchObject({ result: 'failed', message: 'No AIcall with this id.' });
    expect((await execute('get_aicall_messages', JSON.stringify({ aicall_id: aicall.id }))).result).toBe('success');
  });
});
