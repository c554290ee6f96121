import { randomUUID } from 'node:crypto';
import { rpcCall } from '@avp/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aiBody, call, createTestCustomer, eventually } from '../../testing/harness.ts';
import { startSessionStandIns, type SessionStandIns } from '../../testing/session-stand-ins.ts';

/**
 * `/v1.0/teams` and a team's session: CRUD, what a team must be to be saved, tenant isolation
 * (the public API and the internal route flow-manager asks), a session that starts with the
 * start member, and a transition that moves it to another member.
 */
describe('teams', () => {
  let stand: SessionStandIns;
  let key: string;
  let receptionist: string;
  let billing: string;

  beforeAll(async () => {
    stand = await startSessionStandIns('teams');
    key = stand.customer.key;
    const ai = async (overrides: Record<string, unknown>) => {
      const created = await call(stand.harness, 'POST', '/v1.0/ais', { key, body: aiBody(overrides) });
      expect(created.status).toBe(200);
      return created.body.id as string;
    };
    receptionist = await ai({ name: 'receptionist', init_prompt: 'You are the receptionist.', tts_voice_id: 'voice-reception', tool_names: ['stop_service'], parameter: { desk: 'front', company: 'Acme' } });
    billing = await ai({ name: 'billing', init_prompt: 'You are the billing clerk.', tts_voice_id: 'voice-billing', engine_model: 'anthropic.claude-3-5-haiku-latest', tool_names: ['set_variables'] });
  });

  afterAll(async () => {
    await stand?.stop();
  });

  const ids = () => ({ front: randomUUID(), back: randomUUID() });
  const teamBody = (member = ids(), overrides: Record<string, unknown> = {}) => ({
    name: 'front desk',
    detail: 'reception hands billing questions over',
    start_member_id: member.front,
    members: [
      { id: member.front, name: 'Reception', ai_id: receptionist, transitions: [{ function_name: 'transfer_to_billing', description: 'The caller asks about a bill.', next_member_id: member.back }] },
      { id: member.back, name: 'Billing', ai_id: billing, transitions: [{ function_name: 'back_to_reception', description: 'Anything but bills.', next_member_id: member.front }] },
    ],
    parameter: { company: 'Acme Team' },
    ...overrides,
  });

  it('creates, reads, lists a page at a time, replaces and deletes a team', async () => {
    const { harness } = stand;
    const member = ids();
    const created = await call(harness, 'POST', '/v1.0/teams', { key, body: teamBody(member) });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ customer_id: stand.customer.id, name: 'front desk', start_member_id: member.front, parameter: { company: 'Acme Team' }, tm_delete: null });
    expect(created.body.members[0]).toEqual({ id: member.front, name: 'Reception', ai_id: receptionist, transitions: [{ function_name: 'transfer_to_billing', description: 'The caller asks about a bill.', next_member_id: member.back }] });
    const id = created.body.id as string;
    expect((await call(harness, 'GET', `/v1.0/teams/${id}`, { key })).body).toEqual(created.body);
    await eventually(() => harness.events.some((event) => event.type === 'team_created' && (event.data as { id: string }).id === id));

    const second = await call(harness, 'POST', '/v1.0/teams', { key, body: teamBody() });
    const first = await call(harness, 'GET', '/v1.0/teams?page_size=1', { key });
    expect(first.body.result).toHaveLength(1);
    expect(first.body.next_page_token).not.toBe('');
    const rest = await call(harness, 'GET', `/v1.0/teams?page_size=1&page_token=${encodeURIComponent(first.body.next_page_token as string)}`, { key });
    expect([first.body.result[0].id, rest.body.result[0].id].sort()).toEqual([id, second.body.id].sort());

    const replaced = await call(harness, 'PUT', `/v1.0/teams/${id}`, { key, body: teamBody(member, { name: 'renamed', start_member_id: member.back }) });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name: 'renamed', start_member_id: member.back });
    expect(replaced.body.tm_update > created.body.tm_update).toBe(true);

    expect((await call(harness, 'DELETE', `/v1.0/teams/${id}`, { key })).body.tm_delete).not.toBeNull();
    expect((await call(harness, 'GET', `/v1.0/teams/${id}`, { key })).status).toBe(404);
    expect((await call(harness, 'PUT', `/v1.0/teams/${id}`, { key, body: teamBody(member) })).status).toBe(404);
    expect((await call(harness, 'DELETE', `/v1.0/teams/${id}`, { key })).status).toBe(404);
    await call(harness, 'DELETE', `/v1.0/teams/${second.body.id as string}`, { key });
    expect((await call(harness, 'GET', '/v1.0/teams', { key })).body.result).toEqual([]);
  });

  it('refuses a team whose members, transitions or function names do not hold together', async () => {
    const { harness } = stand;
    const refused = async (body: unknown, ...problems: RegExp[]) => {
      const response = await call(harness, 'POST', '/v1.0/teams', { key, body });
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      for (const problem of problems) expect(response.body.error.message).toMatch(problem);
    };
    const member = ids();
    const base = teamBody(member);
    const front = base.members[0]!;
    const back = base.members[1]!;
    await refused({ ...base, start_member_id: randomUUID() }, /start_member_id: [0-9a-f-]+ is not a member/);
    await refused({ ...base, members: [front, { ...back, transitions: [{ function_name: 'go', next_member_id: randomUUID() }] }] }, /members\[1\]\.transitions\[0\]\.next_member_id: [0-9a-f-]+ is not a member/);
    await refused(
      { ...base, members: [{ ...front, transitions: [...front.transitions, { function_name: 'transfer_to_billing', next_member_id: member.front }] }, back] },
      /members\[0\]\.transitions\[1\]\.function_name: transfer_to_billing is offered twice/,
    );
    await refused({ ...base, members: [front, { ...back, id: member.front }] }, /members\[1\]\.id: [0-9a-f-]+ is used by another member/);
    await refused({ ...base, members: [front, { ...back, ai_id: randomUUID() }] }, /members\[1\]\.ai_id: no AI [0-9a-f-]+ of yours/);
    // Tool names the LLM APIs take, and never a built-in tool's.
    await refused({ ...base, members: [{ ...front, transitions: [{ function_name: 'transfer to billing', next_member_id: member.back }] }, back] }, /letters, digits/);
    await refused({ ...base, members: [{ ...front, transitions: [{ function_name: 'x'.repeat(65), next_member_id: member.back }] }, back] }, /letters, digits/);
    await refused({ ...base, members: [{ ...front, transitions: [{ function_name: 'stop_service', next_member_id: member.back }] }, back] }, /built-in tool name/);
    await refused({ ...base, members: [] });
    // Every problem at once, and nothing stored.
    await refused({ ...base, start_member_id: randomUUID(), members: [front, { ...back, ai_id: randomUUID() }] }, /start_member_id/, /members\[1\]\.ai_id/);
    expect((await call(harness, 'GET', '/v1.0/teams', { key })).body.result).toEqual([]);
  });

  it("keeps teams to their customer: another customer's team is not found, and its AIs cannot be members", async () => {
    const { harness } = stand;
    const mine = await call(harness, 'POST', '/v1.0/teams', { key, body: teamBody() });
    const other = await createTestCustomer(harness, 'teams-other');
    expect((await call(harness, 'GET', `/v1.0/teams/${mine.body.id as string}`, { key: other.key })).status).toBe(404);
    expect((await call(harness, 'PUT', `/v1.0/teams/${mine.body.id as string}`, { key: other.key, body: teamBody() })).status).toBe(404);
    expect((await call(harness, 'DELETE', `/v1.0/teams/${mine.body.id as string}`, { key: other.key })).status).toBe(404);
    expect((await call(harness, 'GET', '/v1.0/teams', { key: other.key })).body.result).toEqual([]);
    // Naming my AIs in their team is naming AIs that are not theirs.
    const theirs = await call(harness, 'POST', '/v1.0/teams', { key: other.key, body: teamBody() });
    expect(theirs.status).toBe(400);
    expect(theirs.body.error.message).toMatch(/members\[0\]\.ai_id: no AI/);
    // The route flow-manager asks when a flow names a team.
    const lookup = (customerId: string) => rpcCall(harness.bus, 'ai-manager', 'GET', `/v1/teams/${mine.body.id as string}?customer_id=${customerId}`);
    await expect(lookup(stand.customer.id)).resolves.toMatchObject({ id: mine.body.id });
    await expect(lookup(other.id)).rejects.toMatchObject({ httpStatus: 404, reason: 'RESOURCE_NOT_FOUND' });
    // An AIcall record of a team: the start member answers; another customer's team is not found.
    const record = (as: string) =>
      call(harness, 'POST', '/v1.0/aicalls', { key: as, body: { assistance_type: 'team', assistance_id: mine.body.id, reference_type: 'conversation', reference_id: randomUUID() } });
    const created = await record(key);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({ assistance_type: 'team', assistance_id: mine.body.id, current_member_id: mine.body.start_member_id, parameter: { desk: 'front', company: 'Acme Team' } });
    expect((await record(other.key)).status).toBe(404);
    await call(harness, 'DELETE', `/v1.0/teams/${mine.body.id as string}`, { key });
  });

  it('starts a session with the start member and hands it over on a transition, keeping the current member', async () => {
    const { harness } = stand;
    const member = ids();
    const team = (await call(harness, 'POST', '/v1.0/teams', { key, body: teamBody(member) })).body as { id: string };
    const [activeflowId, callId] = [randomUUID(), randomUUID()];
    stand.activeflowCalls.set(activeflowId, callId);
    const answer = await rpcCall<{ id: string; push_actions: unknown[] }>(harness.bus, 'ai-manager', 'POST', '/v1/services/type/aicall', {
      customer_id: stand.customer.id,
      activeflow_id: activeflowId,
      assistance_type: 'team',
      assistance_id: team.id,
      reference_type: 'call',
      reference_id: callId,
    });
    expect(answer.push_actions).toHaveLength(1);
    const start = (await eventually(() => stand.starts.find((entry) => entry.aicall_id === answer.id))) as unknown as {
      ai: Record<string, unknown>;
      tools: { name: string; description: string }[];
      messages: { role: string; content: string }[];
    };
    // The start member's AI decides the voice and tools; its transitions are tools too; the team's parameter wins.
    expect(start.ai).toMatchObject({ engine_model: 'openai.gpt-4o-mini', tts_voice_id: 'voice-reception', parameter: { desk: 'front', company: 'Acme Team' } });
    expect(start.tools.map((tool) => tool.name)).toEqual(['stop_service', 'transfer_to_billing']);
    expect(start.tools[1]!.description).toBe('The caller asks about a bill.');
    expect(start.messages.map((message) => message.content)).toContain('You are the receptionist.');
    const aicall = await call(harness, 'GET', `/v1.0/aicalls/${answer.id}`, { key });
    expect(aicall.body).toMatchObject({ assistance_type: 'team', assistance_id: team.id, current_member_id: member.front, ai_engine_model: 'openai.gpt-4o-mini' });

    // The receptionist may not run the billing clerk's tools; its transition moves the session.
    const tool = (name: string) =>
      rpcCall<Record<string, unknown>>(harness.bus, 'ai-manager', 'POST', `/v1/aicalls/${answer.id}/tool_execute`, { customer_id: stand.customer.id, id: `call-${name}`, name, arguments: '{}' });
    expect(await tool('set_variables')).toMatchObject({ result: 'failed', message: 'The tool set_variables is not enabled for this AI.' });
    const switched = await tool('transfer_to_billing');
    expect(switched).toMatchObject({ result: 'success', run_llm: true, resource_type: 'team', resource_id: team.id });
    expect(switched.switch_member).toMatchObject({
      member_id: member.back,
      ai: { engine_model: 'anthropic.claude-3-5-haiku-latest', tts_voice_id: 'voice-billing', parameter: { company: 'Acme Team' } },
      tools: [{ name: 'set_variables' }, { name: 'back_to_reception' }],
    });
    const prompts = (switched.switch_member as { messages: string[] }).messages;
    expect(prompts[0]).toBe(start.messages[0]!.content); // the platform's prompt the session started with
    expect(prompts).toContain('You are the billing clerk.');
    expect(prompts).not.toContain('You are the receptionist.');

    expect((await call(harness, 'GET', `/v1.0/aicalls/${answer.id}`, { key })).body.current_member_id).toBe(member.back);
    const messages = (await call(harness, 'GET', `/v1.0/aimessages?aicall_id=${answer.id}`, { key })).body.result as { role: string; content: string; active_ai_id: string }[];
    const notification = messages.find((message) => message.role === 'notification' && message.content.includes('member_switched'))!;
    expect(JSON.parse(notification.content)).toMatchObject({
      type: 'member_switched',
      transition_function_name: 'transfer_to_billing',
      from_member: { id: member.front, name: 'Reception', ai: { id: receptionist, tts_voice_id: 'voice-reception' } },
      to_member: { id: member.back, name: 'Billing', ai: { id: billing, engine_model: 'anthropic.claude-3-5-haiku-latest', tts_voice_id: 'voice-billing' } },
    });
    expect(notification.active_ai_id).toBe(billing);
    // Now the billing clerk: its tools, not the receptionist's transition or tools.
    expect(await tool('transfer_to_billing')).toMatchObject({ result: 'failed', message: 'There is no tool named transfer_to_billing.' });
    expect(await tool('stop_service')).toMatchObject({ result: 'failed', message: 'The tool stop_service is not enabled for this AI.' });
  });
});
