import { eventually } from '@avp/shared/testing';
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { askNameScript, describeModes, scriptedAi, useStack, type Api } from './testing/stack.ts';

/**
 * What a flow names must run: a flow is refused when it is saved (or an activeflow when it is
 * started with actions) if an `ai_talk` / `ai` / `ai_task` names an AI that is not the
 * customer's, a team that is not the customer's, an `ai_summary` a conference or an on-end flow that
 * is not the customer's; each problem named by its position. The overview's `ai` action is
 * `ai_talk`.
 */
await describeModes('flows are checked when saved: every AI and flow they name is the customer\'s', (mode) => {
  const stack = useStack(() => ({ mode, name: 'flow-references' }));
  const api: Api = (...args) => stack.api(...args);

  it("refuses another customer's AI, another customer's team, a conference summary and another customer's on-end flow, at save", async () => {
    const mine = await api('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const otherKey = await stack.createCustomer('flow-references-other');
    const other = stack.apiAs(otherKey);
    const theirs = await other('POST', '/v1.0/ais', scriptedAi(askNameScript));
    const theirFlow = await other('POST', '/v1.0/flows', { actions: [{ type: 'hangup' }] });
    const teamOf = (aiId: string) => {
      const memberId = randomUUID();
      return { name: 'desk', start_member_id: memberId, members: [{ id: memberId, ai_id: aiId }] };
    };
    const myTeam = await api('POST', '/v1.0/teams', teamOf(mine.id as string));
    const theirTeam = await other('POST', '/v1.0/teams', teamOf(theirs.id as string));
    const myFlow = await api('POST', '/v1.0/flows', { actions: [{ type: 'hangup' }] });

    const refused = async (actions: object[], ...problems: RegExp[]) => {
      const response = await stack.request('POST', '/v1.0/flows', { body: { actions } });
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      const message = String((response.body.error as { message: string }).message);
      for (const problem of problems) expect(message).toMatch(problem);
      return message;
    };
    await refused([{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: theirs.id } }], /actions\[1\] \(ai_talk\): ai_id: no AI [0-9a-f-]+ of yours/);
    await refused([{ type: 'ai', option: { ai_id: randomUUID() } }], /actions\[0\] \(ai\): ai_id: no AI/);
    await refused([{ type: 'ai_task', option: { assistance_type: 'ai', assistance_id: theirs.id } }], /actions\[0\] \(ai_task\): assistance_id: no AI/);
    await refused([{ type: 'ai_talk', option: { assistance_type: 'team', assistance_id: theirTeam.id } }], /actions\[0\] \(ai_talk\): assistance_id: no team [0-9a-f-]+ of yours/);
    await refused([{ type: 'ai_task', option: { assistance_type: 'team', assistance_id: randomUUID() } }], /actions\[0\] \(ai_task\): assistance_id: no team/);
    // A team's id is no AI's, and an AI's id no team's.
    await refused([{ type: 'ai_talk', option: { assistance_type: 'ai', assistance_id: myTeam.id } }], /assistance_id: no AI/);
    await refused([{ type: 'ai_talk', option: { assistance_type: 'team', assistance_id: mine.id } }], /assistance_id: no team/);
    await refused(
      [
        { type: 'ai_summary', option: { reference_type: 'conference', reference_id: randomUUID() } },
        { type: 'ai_summary', option: { reference_type: 'call', on_end_flow_id: theirFlow.id } },
      ],
      /actions\[0\] \(ai_summary\): reference_type: this platform has no conferences/,
      /actions\[1\] \(ai_summary\): on_end_flow_id: no flow/,
    );
    // A replaced flow and an activeflow started with actions are checked alike.
    const replaced = await stack.request('PUT', `/v1.0/flows/${myFlow.id as string}`, { body: { actions: [{ type: 'ai_talk', option: { ai_id: theirs.id } }] } });
    expect(replaced.status).toBe(400);
    const started = await stack.request('POST', '/v1.0/activeflows', { body: { actions: [{ type: 'ai_task', option: { ai_id: theirs.id } }] } });
    expect(started.status).toBe(400);
    // Nothing of it was stored; the customer's own references are fine.
    expect(((await api('GET', `/v1.0/flows/${myFlow.id as string}`)).actions as { type: string }[]).map((action) => action.type)).toEqual(['hangup']);
    const fine = await api('POST', '/v1.0/flows', {
      actions: [
        { type: 'ai', option: { ai_id: mine.id } },
        { type: 'ai_talk', option: { assistance_type: 'team', assistance_id: myTeam.id } },
        { type: 'ai_summary', option: { reference_type: 'call', on_end_flow_id: myFlow.id } },
      ],
    });
    expect(fine.id).toBeTruthy();
  });

  it('runs the `ai` action as ai_talk: the AI greets the caller', async () => {
    const ai = await api('POST', '/v1.0/ais', scriptedAi(askNameScript, { stt_type: 'local', parameter: { stt_phrases: ['Ada'] } }));
    const number = await stack.numberWithFlow([{ type: 'answer' }, { type: 'ai', option: { ai_id: ai.id } }, { type: 'hangup' }]);
    const caller = stack.simulator.placeCall({ app: stack.ariApp, extension: number, callerNumber: '+15550005678' });
    await caller.waitForAudio(20_000);
    const aicalls = async () => ((await api('GET', '/v1.0/aicalls')).result as { assistance_id: string; reference_type: string; status: string }[]).filter((aicall) => aicall.assistance_id === ai.id);
    await eventually(async () => (await aicalls()).some((aicall) => aicall.reference_type === 'call' && aicall.status === 'progressing'), 'the session to run', 10_000);
    caller.hangup();
    await eventually(async () => (await aicalls()).every((aicall) => aicall.status === 'terminated'), 'the session to end', 20_000);
  });
});
