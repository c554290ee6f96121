import { randomUUID } from 'node:crypto';
import { registryProviders } from '@avp/pipeline-manager';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { askNameScript, describeModes, scriptedAi, useStack, type Api, type ApiBody } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

/** An engine key given inline: it must never come back from any response. */
const inlineKey = 'sk-e2e-inline-NEVER-SHOWN-5e4d3c';

/** The settings of the offline scripted AI of `POST /v1.0/ais` (scriptedAi), inline: no name. */
function inlineSettings(script: object, fields: Record<string, unknown> = {}): Record<string, unknown> {
  const { name: _name, ...settings } = scriptedAi(script, fields);
  return settings;
}

interface ActionBody {
  id: string;
  type: string;
  option: Record<string, unknown>;
}

const tone = () => Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

/**
 * `ai_talk` (and its alias `ai`) with the AI's settings inline instead of an AI's id, across the
 * three services: flow-manager has ai-manager check and keep the settings when the flow is
 * saved (a hidden AI of the customer's, its key encrypted there), stores them without the key
 * (`engine_key_set` instead), and the session runs that AI exactly like a named one. Bad
 * settings are refused at save with `POST /v1.0/ais`'s messages; another customer cannot run
 * the hidden AI.
 */
await describeModes('inline AI settings in ai_talk, from save to a conversation', (mode) => {
  const stack = useStack({
    mode,
    name: 'inline-ai',
    pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
  });
  const api: Api = (...args) => stack.api(...args);

  /** The AIcall of the activeflow of the caller's call, once there is one. */
  async function aicallOf(channelId: string): Promise<ApiBody & { id: string; assistance_id: string; activeflow_id: string }> {
    let found: (ApiBody & { id: string; assistance_id: string; activeflow_id: string }) | undefined;
    await eventually(async () => {
      const calls = (await api('GET', '/v1.0/calls')).result as { channel_id: string; activeflow_id: string | null }[];
      const activeflowId = calls.find((entry) => entry.channel_id === channelId)?.activeflow_id;
      const aicalls = (await api('GET', '/v1.0/aicalls')).result as (ApiBody & { id: string; assistance_id: string; activeflow_id: string })[];
      found = activeflowId ? aicalls.find((entry) => entry.activeflow_id === activeflowId) : undefined;
      return found !== undefined;
    }, 'the AI session', 20_000);
    return found!;
  }

  it('holds a conversation with the caller on inline settings; the key is never shown, engine_key_set is', async () => {
    const flow = await api('POST', '/v1.0/flows', {
      actions: [{ type: 'answer' }, { type: 'ai_talk', option: { ...inlineSettings(askNameScript), engine_key: inlineKey } }, { type: 'hangup' }],
    });
    const option = (flow.actions as ActionBody[])[1]!.option;
    expect(option).toMatchObject({ engine_model: 'local.scripted', tts_type: 'local', stt_language: 'en-US', engine_key_set: true, fallback_engine_key_set: false, inline_ai_id: expect.any(String) });
    expect(option).not.toHaveProperty('engine_key');
    const hiddenAi = option.inline_ai_id as string;
    for (const url of [`/v1.0/flows/${flow.id as string}`, '/v1.0/flows']) expect(JSON.stringify(await api('GET', url))).not.toContain(inlineKey);
    // The hidden AI is not one of the customer's AIs.
    expect(((await api('GET', '/v1.0/ais')).result as { id: string }[]).map((ai) => ai.id)).not.toContain(hiddenAi);
    expect((await stack.request('GET', `/v1.0/ais/${hiddenAi}`)).status).toBe(404);

    const number = `+1${Math.floor(Math.random() * 1e10)}`;
    await api('POST', '/v1.0/numbers', { number, call_flow_id: flow.id });
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15558881000' });
    await caller.waitForAudio(20_000); // The scripted greeting, spoken by espeak-ng.
    const aicall = await aicallOf(caller.id);
    expect(aicall).toMatchObject({ assistance_type: 'ai', assistance_id: hiddenAi, reference_type: 'call' });
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'progressing', 'the AIcall to progress', 10_000);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`)).status === 'waiting', 'the flow to wait for the AI', 10_000);
    const activeflow = await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`);
    expect(activeflow.variables).toMatchObject({ 'voipbin.aicall.id': aicall.id, 'voipbin.aicall.ai_engine_model': 'local.scripted' });
    // The activeflow echoes the action as the flow does: engine_key_set, never the key.
    const echoed = (activeflow.stacks as { actions: ActionBody[] }[])[0]!.actions.find((action) => action.type === 'ai_talk')!;
    expect(echoed.option).toMatchObject({ engine_key_set: true, inline_ai_id: hiddenAi });
    expect(JSON.stringify(activeflow)).not.toContain(inlineKey);

    await caller.waitForSilence(20_000);
    const messages = async () => ((await api('GET', `/v1.0/aimessages?aicall_id=${aicall.id}`)) as { result: { role: string; content: string }[] }).result;
    await eventually(async () => (await messages()).length >= 3, 'the greeting to be stored', 20_000);
    await caller.play(tone());
    await eventually(async () => (await messages()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);
    const stored = (await messages()).reverse();
    expect(stored.map((message) => message.role)).toEqual(['system', 'system', 'assistant', 'user', 'assistant']);
    expect(stored[3]!.content).toBe('Ada');

    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the AIcall to end', 20_000);
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`)).status === 'ended', 'the activeflow to end', 20_000);
  }, 120_000);

  it('runs the `ai` alias with inline settings, on an inbound call and on an answered outgoing call', async () => {
    const actions = [{ type: 'answer' }, { type: 'ai', option: inlineSettings(askNameScript, { tool_names: ['stop_service'] }) }, { type: 'hangup' }];
    const number = await stack.numberWithFlow(actions);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15558881001' });
    await caller.waitForAudio(20_000);
    const aicall = await aicallOf(caller.id);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'progressing', 'the session to run', 10_000);
    const activeflow = await api('GET', `/v1.0/activeflows/${aicall.activeflow_id}`);
    const action = (activeflow.stacks as { actions: ActionBody[] }[])[0]!.actions.find((entry) => entry.type === 'ai')!;
    expect(action.option).toMatchObject({ engine_key_set: false, tool_names: ['stop_service'], inline_ai_id: aicall.assistance_id });
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${aicall.id}`)).status === 'terminated', 'the session to end', 20_000);

    // POST /v1.0/calls with the same actions inline: the answered party hears the inline AI.
    const target = '+15550108001';
    stack.simulator.scriptOutbound(target, { kind: 'answer', afterMs: 300 });
    const answered = stack.simulator.waitForOutboundCall(target, 10_000);
    const created = await api('POST', '/v1.0/calls', { source: { type: 'tel', target: '+15550108000' }, destinations: [{ type: 'tel', target }], actions });
    const party = await answered;
    await party.waitForAnswer(10_000);
    await party.waitForAudio(20_000);
    const [call] = created.calls as { id: string }[];
    let outgoing: { assistance_id: string; id: string } | undefined;
    await eventually(async () => {
      const activeflowId = (await api('GET', `/v1.0/calls/${call!.id}`)).activeflow_id;
      outgoing = ((await api('GET', '/v1.0/aicalls')).result as { assistance_id: string; id: string; activeflow_id: string }[]).find((entry) => entry.activeflow_id === activeflowId);
      return outgoing !== undefined;
    }, 'the outgoing call\'s AI session', 20_000);
    expect(outgoing!.assistance_id).not.toBe(aicall.assistance_id);
    party.hangup();
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${outgoing!.id}`)).status === 'terminated', 'the outgoing session to end', 20_000);
  }, 120_000);

  it("lets a hidden AI of an activeflow or of outgoing calls go once nothing can start a session with it; a flow's stays", async () => {
    const ais = stack.database.forSchema<{ ais: { id: string; tm_delete: string | null } }>('ai_manager');
    const deleted = async (id: string) => (await ais.selectFrom('ais').select('tm_delete').where('id', '=', id).executeTakeFirstOrThrow()).tm_delete !== null;
    const inlineAiOf = (activeflow: ApiBody, type: string) =>
      (activeflow.stacks as { actions: ActionBody[] }[])[0]!.actions.find((action) => action.type === type)!.option.inline_ai_id as string;
    const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

    // An activeflow started with actions: its hidden AI goes when it ends (here: stopped while it waits).
    const started = await api('POST', '/v1.0/activeflows', { actions: [{ type: 'block' }, { type: 'ai_talk', option: inlineSettings(askNameScript) }] });
    const activeflowAi = inlineAiOf(started, 'ai_talk');
    expect(await deleted(activeflowAi)).toBe(false);
    await api('POST', `/v1.0/activeflows/${started.id as string}/stop`);
    await eventually(() => deleted(activeflowAi), "the ended activeflow's hidden AI to go", 10_000);

    // A flow's hidden AI stays after its activeflows end: it is the flow's as long as the action is.
    const actions = [{ type: 'answer' }, { type: 'ai_talk', option: inlineSettings(askNameScript) }, { type: 'hangup' }];
    const number = await stack.numberWithFlow(actions);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15558881002' });
    await caller.waitForAudio(20_000);
    const inbound = await aicallOf(caller.id);
    caller.hangup();
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${inbound.activeflow_id}`)).status === 'ended', 'the flow\'s activeflow to end', 20_000);
    await eventually(async () => (await api('GET', `/v1.0/aicalls/${inbound.id}`)).status === 'terminated', 'the session to end', 20_000);
    await settle();
    expect(await deleted(inbound.assistance_id)).toBe(false);

    // Outgoing calls share their request's hidden AI: it stays while one of them still rings, and goes with the last.
    const [answeredTarget, ringingTarget] = ['+15550108101', '+15550108102'];
    stack.simulator.scriptOutbound(answeredTarget, { kind: 'answer', afterMs: 300 });
    stack.simulator.scriptOutbound(ringingTarget, { kind: 'ring' });
    const answered = stack.simulator.waitForOutboundCall(answeredTarget, 10_000);
    const created = await api('POST', '/v1.0/calls', {
      source: { type: 'tel', target: '+15550108100' },
      destinations: [{ type: 'tel', target: answeredTarget }, { type: 'tel', target: ringingTarget }],
      actions,
      timeout: 60,
    });
    const [first, second] = created.calls as { id: string }[];
    const party = await answered;
    await party.waitForAnswer(10_000);
    await party.waitForAudio(20_000);
    const activeflowId = (await api('GET', `/v1.0/calls/${first!.id}`)).activeflow_id as string;
    const callsAi = inlineAiOf(await api('GET', `/v1.0/activeflows/${activeflowId}`), 'ai_talk');
    party.hangup();
    await eventually(async () => (await api('GET', `/v1.0/activeflows/${activeflowId}`)).status === 'ended', 'the answered call\'s activeflow to end', 20_000);
    await settle();
    expect((await api('GET', `/v1.0/calls/${second!.id}`)).status).toBe('ringing');
    expect(await deleted(callsAi)).toBe(false);
    await api('POST', `/v1.0/calls/${second!.id}/hangup`);
    await eventually(() => deleted(callsAi), "the outgoing calls' hidden AI to go with the last of them", 10_000);
  }, 120_000);

  it('refuses bad inline settings at save with the message of POST /v1.0/ais, and an AI named beside inline settings', async () => {
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'hangup' }] });
    const named = await api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const knowledgebase = await stack.apiAs(await stack.createCustomer('inline-ai-kb'))('POST', '/v1.0/knowledgebases', { name: 'theirs' });
    const cases: Record<string, unknown>[] = [
      { tts_type: 'piper' },
      { stt_type: 'google' },
      { engine_model: 'openai' },
      { vad_config: { confidence: 2 } },
      { tool_names: ['launch_rockets'] },
      { turn_config: { end_of_turn: { complete_stop_secs: 2, incomplete_stop_secs: 1 } } },
      // Refused by ai-manager when it stores the AI, as POST /v1.0/ais refuses them.
      { fallback_engine_key: 'sk-fallback' },
      { knowledgebase_ids: [knowledgebase.id] },
    ];
    for (const change of cases) {
      const direct = await stack.request('POST', '/v1.0/ais', { body: scriptedAi(askNameScript, change) });
      expect(direct.status, JSON.stringify(change)).toBeGreaterThanOrEqual(400);
      const aiMessage = (direct.body.error as { message: string }).message;
      const actions = [{ type: 'answer' }, { type: 'ai_talk', option: inlineSettings(askNameScript, change) }];
      for (const [method, url, body] of [
        ['POST', '/v1.0/flows', { actions }],
        ['PUT', `/v1.0/flows/${flow.id as string}`, { actions }],
        ['POST', '/v1.0/activeflows', { actions }],
        ['POST', '/v1.0/calls', { source: { type: 'tel', target: '+15550108000' }, destinations: [{ type: 'tel', target: '+15550108009' }], actions }],
      ] as const) {
        const response = await stack.request(method, url, { body });
        expect(response.status, `${method} ${url} ${JSON.stringify(change)}`).toBe(400);
        const message = (response.body.error as { message: string }).message;
        expect(message).toMatch(/^Invalid flow actions: actions\[1\] \(ai_talk\): /);
        // The same message, field and all (a field of the option; a knowledge base named by its field).
        expect(message.replace('option.', '')).toContain(aiMessage);
      }
    }
    const both = await stack.request('POST', '/v1.0/flows', { body: { actions: [{ type: 'ai_talk', option: { ai_id: named.id, ...inlineSettings(askNameScript) } }] } });
    expect(both.status).toBe(400);
    expect((both.body.error as { message: string }).message).toContain('actions[0] (ai_talk): option: name an AI (ai_id, or assistance_id) or give its settings inline');
    // Nothing was stored.
    expect(((await api('GET', `/v1.0/flows/${flow.id as string}`)).actions as ActionBody[]).map((action) => action.type)).toEqual(['hangup']);
  });

  it("keeps the key over a re-save, and the hidden AI is nobody's to name: not another customer's, not its own customer's", async () => {
    const flow = await api('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ...inlineSettings(askNameScript), engine_key: inlineKey } }] });
    const [action] = flow.actions as ActionBody[];
    const hiddenAi = action!.option.inline_ai_id as string;
    // Saved again as it was read (no key in it): the key is kept, as PUT /v1.0/ais keeps one left out.
    const again = await api('PUT', `/v1.0/flows/${flow.id as string}`, { actions: flow.actions, name: 'renamed' });
    expect((again.actions as ActionBody[])[0]!.option).toMatchObject({ engine_key_set: true, inline_ai_id: hiddenAi });
    const database = stack.database.forSchema<{ ais: { id: string; engine_key_encrypted: string | null; tm_delete: string | null } }>('ai_manager');
    const row = await database.selectFrom('ais').select(['engine_key_encrypted', 'tm_delete']).where('id', '=', hiddenAi).executeTakeFirstOrThrow();
    expect(row.engine_key_encrypted).toBeTruthy();
    expect(row.engine_key_encrypted).not.toContain(inlineKey);

    const other = stack.apiAs(await stack.createCustomer('inline-ai-other'));
    for (const name of [other, api]) {
      await expect(name('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: hiddenAi } }] })).rejects.toThrow(/actions\[0\] \(ai_talk\): ai_id: no AI [0-9a-f-]+ of yours/);
      await expect(name('POST', '/v1.0/activeflows', { actions: [{ type: 'ai_task', option: { assistance_type: 'ai', assistance_id: hiddenAi } }] })).rejects.toThrow(/400/);
    }
    // Neither customer starts a session or a summary with it through the public API.
    for (const name of [other, api]) {
      await expect(name('POST', '/v1.0/aicalls', { assistance_type: 'ai', assistance_id: hiddenAi, reference_type: '' })).rejects.toThrow(/No AI with this id/);
      await expect(name('POST', '/v1.0/aisummaries', { reference_type: 'call', reference_id: randomUUID(), ai_id: hiddenAi })).rejects.toThrow(/No AI with this id/);
    }

    // Deleting the flow deletes its inline AI.
    await api('DELETE', `/v1.0/flows/${flow.id as string}`);
    expect((await database.selectFrom('ais').select('tm_delete').where('id', '=', hiddenAi).executeTakeFirstOrThrow()).tm_delete).not.toBeNull();
    // An id the flow never had stays unknown.
    await expect(api('POST', '/v1.0/flows', { actions: [{ type: 'ai_talk', option: { ai_id: randomUUID() } }] })).rejects.toThrow(/no AI/);
  });
});
