import { registryProviders } from '@avp/pipeline-manager';
import { eventually, freePort } from '@avp/shared/testing';
import { afterAll, expect, it } from 'vitest';
import { connectMcpHttp, connectMcpStdio, startRecordingProxy, type McpSession, type RecordingProxy } from './testing/mcp-session.ts';
import { aiTalkActions, askNameScript, describeModes, scriptedAi, useStack } from './testing/stack.ts';
import { loudnessVad, scriptedStt } from './voice-doubles.ts';

interface Page<T> {
  result: T[];
  next_page_token: string;
}

/**
 * The platform's MCP server as an assistant uses it: over Streamable HTTP at /v1.0/mcp with
 * a customer's access key, it sets up an AI, a flow and a number, a simulated caller talks
 * with the AI, and the conversation is read back through the tools; another customer's
 * session sees none of it. The stdio bin does the same over HTTP to the stack's URL. In the
 * cluster mode the tools reach flow-manager's routes over HTTP (FLOW_MANAGER_API_URL).
 */
await describeModes('the MCP server operates the platform through its public API', (mode) => {
  let port = 0;
  // Cluster mode: flow-manager's routes are reached over HTTP, through a proxy that shows it.
  let flowManagerProxy: RecordingProxy | undefined;
  afterAll(async () => {
    await flowManagerProxy?.close();
  });
  const stack = useStack(async () => {
    port = await freePort();
    if (mode === 'cluster') flowManagerProxy = await startRecordingProxy(port);
    return {
      mode,
      name: 'mcp',
      port,
      ...(flowManagerProxy ? { aiManager: { flowManagerApiUrl: flowManagerProxy.url } } : {}),
      pipelineManager: { createVad: async () => loudnessVad(), providers: { ...registryProviders, stt: () => scriptedStt(['Ada']) } },
    };
  });
  const mcpUrl = () => `http://127.0.0.1:${port}/v1.0/mcp`;
  const sessions: McpSession[] = [];
  const open = async (key: string) => {
    const session = await connectMcpHttp(mcpUrl(), key);
    sessions.push(session);
    return session;
  };
  afterAll(async () => {
    for (const session of sessions.splice(0)) await session.close();
  });
  const first = { aiId: '', flowId: '', aicallId: '' };

  it('answers 401 like the REST API without a key or with a bad one, 405 to GET, and stays out of the OpenAPI document', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(mcpUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: '{}' });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { reason: 'MISSING_CREDENTIALS' } });
    const bad = await post({ authorization: 'Bearer avp_not-a-key' });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ error: { reason: 'INVALID_CREDENTIALS' } });
    await expect(connectMcpHttp(mcpUrl(), 'avp_not-a-key')).rejects.toThrow(/INVALID_CREDENTIALS/);
    const get = await fetch(mcpUrl(), { headers: { authorization: `Bearer ${stack.key}`, accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // JSON-RPC, not REST: kept out of the OpenAPI document (and so out of the sweeps that walk it).
    const documented = (await stack.request('GET', '/v1.0/docs/json')).body as { paths: Record<string, unknown> };
    expect(Object.keys(documented.paths)).toContain('/v1.0/ais');
    expect(Object.keys(documented.paths)).not.toContain('/v1.0/mcp');
  });

  it('sets up an AI answering a number, and reads back the conversation of a call to it', async () => {
    const assistant = await open(stack.key);
    const tools = (await assistant.client.listTools()).tools;
    expect(tools.map((tool) => tool.name)).toEqual(expect.arrayContaining(['create_ai', 'create_flow', 'create_number', 'bind_number_flow', 'list_aicalls', 'get_aicall_conversation']));
    expect(tools.find((tool) => tool.name === 'create_ai')!.inputSchema.required).toEqual(['engine_model']);

    // A model's first try is often wrong: the platform's own validation comes back as a tool error naming the field.
    const refused = await assistant.call('create_ai', { name: 'receptionist', engine_model: 'gpt-4o' });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/400 VALIDATION_FAILED: .*engine_model/);
    const ai = await assistant.ok<{ id: string; engine_key_set: boolean }>('create_ai', { ...scriptedAi(askNameScript), engine_key: 'sk-never-shown' });
    expect(ai.engine_key_set).toBe(true);
    expect(JSON.stringify(await assistant.ok('get_ai', { id: ai.id }))).not.toContain('sk-never-shown');
    // An update changes what it names and keeps the rest (PUT would reset it), the key included.
    const updated = await assistant.ok<{ detail: string; init_prompt: string; tts_type: string; engine_key_set: boolean }>('update_ai', { id: ai.id, detail: 'answers the front desk' });
    expect(updated).toMatchObject({ detail: 'answers the front desk', init_prompt: JSON.stringify(askNameScript), tts_type: 'local', engine_key_set: true });

    const flow = await assistant.ok<{ id: string }>('create_flow', { name: 'reception', actions: aiTalkActions(ai.id) });
    const phoneNumber = `+1${Math.floor(Math.random() * 1e10)}`;
    const created = await assistant.ok<{ id: string; call_flow_id: string | null }>('create_number', { number: phoneNumber });
    expect(created.call_flow_id).toBeNull();
    const bound = await assistant.ok<{ call_flow_id: string }>('bind_number_flow', { id: created.id, call_flow_id: flow.id });
    expect(bound.call_flow_id).toBe(flow.id);
    first.aiId = ai.id;
    first.flowId = flow.id;
    if (flowManagerProxy) {
      expect(flowManagerProxy.requests).toEqual(expect.arrayContaining([{ line: 'POST /v1.0/flows', authorization: `Bearer ${stack.key}` }]));
      expect(flowManagerProxy.requests.some((request) => request.line.startsWith('POST /v1.0/ais'))).toBe(false);
    }

    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: phoneNumber, callerNumber: '+15558881234' });
    await caller.waitForAudio(20_000); // The scripted greeting, spoken by espeak-ng.
    await caller.waitForSilence(20_000);
    const calls = await assistant.ok<Page<{ channel_id: string; destination: string; activeflow_id: string }>>('list_calls');
    const call = calls.result.find((entry) => entry.channel_id === caller.id)!;
    expect(call.destination).toBe(phoneNumber);
    const aicalls = await assistant.ok<Page<{ id: string; assistance_id: string; activeflow_id: string }>>('list_aicalls', { reference_type: 'call' });
    const aicall = aicalls.result.find((entry) => entry.activeflow_id === call.activeflow_id)!;
    expect(aicall.assistance_id).toBe(ai.id);
    first.aicallId = aicall.id;
    const conversation = async () => (await assistant.ok<{ messages: { role: string; content: string }[] }>('get_aicall_conversation', { aicall_id: aicall.id })).messages;
    await eventually(async () => (await conversation()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    // The caller answers (the recogniser double hears "Ada"); the AI answers with the name.
    await caller.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await eventually(async () => (await conversation()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);
    caller.hangup();

    const said = (await conversation()).filter((message) => message.role !== 'system');
    expect(said.map((message) => [message.role, message.content])).toEqual([
      ['assistant', 'Hello, this is the offline assistant. What is your name?'],
      ['user', 'Ada'],
      ['assistant', 'Nice to meet you, Ada. Goodbye.'],
    ]);
    await eventually(async () => (await assistant.ok<{ status: string }>('get_aicall', { id: aicall.id })).status === 'terminated', 'the AIcall to end', 20_000);
    // A message into a session that has ended is the platform's 409, as a tool error.
    const late = await assistant.call('send_aicall_message', { aicall_id: aicall.id, content: 'Are you there?' });
    expect(late).toMatchObject({ isError: true });
    expect(late.text).toMatch(/409 /);

    const resources = await assistant.client.listResources();
    expect(resources.resources.map((resource) => resource.uri)).toEqual(expect.arrayContaining([`avp://ais/${ai.id}`, `avp://flows/${flow.id}`]));
    const read = await assistant.client.readResource({ uri: `avp://flows/${flow.id}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: flow.id, actions: expect.arrayContaining([expect.objectContaining({ type: 'ai_talk' })]) });
  }, 120_000);

  it('places an outbound call on which the AI talks to the called party, and reads the conversation back', async () => {
    expect(first.flowId).not.toBe('');
    const assistant = await open(stack.key);
    const target = '+15550109001';
    stack.simulator.scriptOutbound(target, { kind: 'answer', afterMs: 300 });
    const answered = stack.simulator.waitForOutboundCall(target, 10_000);
    const placed = await assistant.ok<{ calls: { id: string; status: string; direction: string }[] }>('place_call', { source: '+15550109000', destinations: [target], flow_id: first.flowId, timeout: 20 });
    expect(placed.calls).toEqual([expect.objectContaining({ status: 'dialing', direction: 'outgoing' })]);
    const callId = placed.calls[0]!.id;
    const party = await answered;
    await party.waitForAnswer(10_000);
    await party.waitForAudio(20_000); // The greeting.
    let activeflowId = '';
    await eventually(async () => {
      activeflowId = (await assistant.ok<{ activeflow_id: string | null }>('get_call', { id: callId })).activeflow_id ?? '';
      return activeflowId !== '';
    }, 'the call to run its flow', 10_000);
    let aicallId = '';
    await eventually(async () => {
      aicallId = (await assistant.ok<Page<{ id: string; activeflow_id: string }>>('list_aicalls', { reference_type: 'call' })).result.find((entry) => entry.activeflow_id === activeflowId)?.id ?? '';
      return aicallId !== '';
    }, 'the AI session of the outbound call', 20_000);
    const conversation = async () => (await assistant.ok<{ messages: { role: string; content: string }[] }>('get_aicall_conversation', { aicall_id: aicallId })).messages;
    await eventually(async () => (await conversation()).some((message) => message.role === 'assistant'), 'the greeting to be stored', 20_000);
    await party.waitForSilence(20_000);
    await party.play(Int16Array.from({ length: 16_000 * 0.8 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000))));
    await eventually(async () => (await conversation()).some((message) => message.content.startsWith('Nice to meet you, Ada')), 'the answer', 30_000);
    // The assistant ends the call; the called party hears it end.
    expect(await assistant.ok('hangup_call', { id: callId })).toMatchObject({ id: callId, status: 'hangup', hangup_by: 'local', hangup_reason: 'normal' });
    await party.waitForHangup(10_000);
    await eventually(async () => (await assistant.ok<{ status: string }>('get_aicall', { id: aicallId })).status === 'terminated', 'the AIcall to end', 20_000);

    // Another customer can neither follow nor end the call, nor dial with the first customer's flow.
    const other = await open(await stack.createCustomer('mcp-outbound-other'));
    expect((await other.call('get_call', { id: callId })).text).toMatch(/404 RESOURCE_NOT_FOUND/);
    expect((await other.call('hangup_call', { id: callId })).text).toMatch(/404 RESOURCE_NOT_FOUND/);
    const refused = await other.call('place_call', { source: '+15550109000', destinations: [target], flow_id: first.flowId });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/404 RESOURCE_NOT_FOUND/);
  }, 120_000);

  it('shows another customer none of the first customer\'s AIs, flows or AIcalls', async () => {
    expect(first.aicallId).not.toBe('');
    const other = await open(await stack.createCustomer('mcp-other'));
    for (const tool of ['list_ais', 'list_flows', 'list_aicalls', 'list_calls', 'list_numbers']) {
      expect(await other.ok<Page<unknown>>(tool), tool).toMatchObject({ result: [] });
    }
    for (const [tool, args] of [
      ['get_ai', { id: first.aiId }],
      ['get_flow', { id: first.flowId }],
      ['get_aicall', { id: first.aicallId }],
      ['get_aicall_conversation', { aicall_id: first.aicallId }],
      ['update_ai', { id: first.aiId, name: 'taken over' }],
      ['delete_ai', { id: first.aiId }],
    ] as const) {
      const answer = await other.call(tool, args);
      expect(answer.isError, tool).toBe(true);
      expect(answer.text, tool).toMatch(/404 RESOURCE_NOT_FOUND/);
    }
    expect((await other.client.listResources()).resources).toEqual([]);
    await expect(other.client.readResource({ uri: `avp://ais/${first.aiId}` })).rejects.toThrow(/404 RESOURCE_NOT_FOUND/);
    // Nothing the other customer tried changed the first customer's AI.
    expect(await stack.api('GET', `/v1.0/ais/${first.aiId}`)).toMatchObject({ name: 'offline', tm_delete: null });
  });

  it('fills a knowledge base and searches it', async () => {
    const assistant = await open(stack.key);
    const knowledgebase = await assistant.ok<{ id: string }>('create_knowledgebase', { name: 'clinic', language: 'en-US' });
    await assistant.ok('add_knowledgebase_document', { knowledgebase_id: knowledgebase.id, name: 'hours', content: 'The clinic is closed on Sundays.\n\nParking is free behind the building.' });
    const found = await assistant.ok<{ result: { content: string; document_name: string }[] }>('search_knowledgebase', { knowledgebase_id: knowledgebase.id, q: 'open on sunday?' });
    expect(found.result[0]).toMatchObject({ document_name: 'hours', content: expect.stringContaining('closed on Sundays') });
    const empty = await assistant.call('add_knowledgebase_document', { knowledgebase_id: knowledgebase.id, name: 'blank', content: '   ' });
    expect(empty.isError).toBe(true);
    expect(empty.text).toMatch(/400 VALIDATION_FAILED: .*content/);
  });

  it('serves the same tools over stdio, calling the API over HTTP', async () => {
    const ai = await stack.api('POST', '/v1.0/ais', scriptedAi(askNameScript, { name: 'made over REST' }));
    const desktop = await connectMcpStdio({
      AVP_API_URL: `http://127.0.0.1:${port}`,
      AVP_ACCESS_KEY: stack.key,
      ...(mode === 'cluster' ? { AVP_FLOW_API_URL: `http://127.0.0.1:${port}` } : {}),
    });
    sessions.push(desktop);
    expect((await desktop.client.listTools()).tools.map((tool) => tool.name)).toContain('list_ais');
    const listed = await desktop.ok<Page<{ id: string; name: string }>>('list_ais');
    expect(listed.result).toEqual(expect.arrayContaining([expect.objectContaining({ id: ai.id, name: 'made over REST' })]));
    expect((await desktop.ok<Page<{ id: string }>>('list_flows')).result.map((flow) => flow.id)).toContain(first.flowId);
    expect(await desktop.call('get_ai', { id: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ isError: true, text: expect.stringMatching(/404 RESOURCE_NOT_FOUND/) });
  }, 60_000);
});
