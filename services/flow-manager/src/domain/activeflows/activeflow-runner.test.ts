import { createDatabase, createInProcessBus, migrateToLatest, silentLogger, type Action, type Database, type EventEnvelope } from '@avp/shared';
import { createTestPgliteDatabase, type TestPgliteDatabase } from '@avp/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../db/migrations.ts';
import type { FlowManagerTables } from '../../db/tables.ts';
import { FakeCallControl } from '../../testing/fake-call-control.ts';
import { insertCall, markCallHangup } from '../calls/call-store.ts';
import { createDomainContext, type DomainContext } from '../context.ts';
import { createFlow, updateFlow } from '../flows/flow-service.ts';
import { findActiveflow, toActiveflow } from './activeflow-store.ts';
import { ActiveflowRunner, maxOnCompleteChain, type ServiceKind } from './activeflow-runner.ts';

const customerId = '11111111-1111-4111-8111-111111111111';
const schema = 'flow_manager';
let testDatabase: TestPgliteDatabase;
let database: Database;
let context: DomainContext;
let calls: FakeCallControl;
let started: { kind: ServiceKind; body: Record<string, unknown> }[];
let pushActions: unknown[];
let runner: ActiveflowRunner;
const events: EventEnvelope[] = [];

beforeAll(async () => {
  testDatabase = await createTestPgliteDatabase();
  database = await createDatabase(testDatabase.options);
  await migrateToLatest(database, { schema, migrations, logger: silentLogger() });
  const bus = createInProcessBus();
  await bus.subscribe('flow-manager', ['#'], async (event) => void events.push(event), { queue: 'test-events' });
  context = createDomainContext(database.forSchema<FlowManagerTables>(schema), bus, silentLogger());
});

afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

beforeEach(() => {
  calls = new FakeCallControl();
  started = [];
  pushActions = [];
  runner = new ActiveflowRunner(
    context,
    calls,
    {
      start: async (kind, body) => {
        started.push({ kind, body });
        return { id: '99999999-9999-4999-8999-999999999999', type: kind, push_actions: pushActions };
      },
    },
    { maxExecuteCount: 50 },
  );
});

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function newCall() {
  return insertCall(context.db, { customerId, channelId: `chan-${Math.random()}`, direction: 'incoming', source: '+1555', destination: '+1666' });
}

async function runFlow(actions: unknown[], referenceType: 'call' | 'api' = 'call') {
  const flow = await createFlow(context, customerId, { actions });
  const call = referenceType === 'call' ? await newCall() : undefined;
  const activeflow = await runner.startFlow({
    customerId,
    flowId: flow.id,
    referenceType,
    referenceId: call?.id ?? null,
    variables: { 'voipbin.call.source': '+1555' },
  });
  await runner.idle();
  const row = await findActiveflow(context.db, activeflow.id);
  return { activeflow: toActiveflow(row!), call };
}

describe('activeflow runner', () => {
  it('answers, talks with variables substituted and hangs up', async () => {
    const { activeflow } = await runFlow([
      { type: 'answer' },
      { type: 'talk', option: { text: 'You called from ${voipbin.call.source}' } },
      { type: 'hangup' },
    ]);
    expect(calls.operations).toEqual([expect.stringMatching(/^answer /), 'talk You called from +1555', 'hangup normal']);
    expect(activeflow).toMatchObject({ status: 'ended', end_reason: 'hangup action', execute_count: 3 });
  });

  it('branches on collected DTMF digits', async () => {
    calls.digits = '2';
    const { activeflow } = await runFlow([
      { type: 'digits_receive', option: { length: 1 } },
      { type: 'branch', option: { variable: 'voipbin.call.digits', target_ids: { '1': id(1), '2': id(2) }, default_target_id: id(3) } },
      { id: id(1), type: 'talk', option: { text: 'one' }, next_id: id(4) },
      { id: id(2), type: 'talk', option: { text: 'two' }, next_id: id(4) },
      { id: id(3), type: 'talk', option: { text: 'other' } },
      { id: id(4), type: 'hangup' },
    ]);
    expect(calls.operations).toEqual(['digits 1', 'talk two', 'hangup normal']);
    expect(activeflow.variables['voipbin.call.digits']).toBe('2');
  });

  it('loops with goto at most loop_count times', async () => {
    const { activeflow } = await runFlow([
      { id: id(10), type: 'talk', option: { text: 'again' } },
      { type: 'goto', option: { target_id: id(10), loop_count: 2 } },
      { type: 'hangup' },
    ]);
    expect(calls.operations).toEqual(['talk again', 'talk again', 'talk again', 'hangup normal']);
    expect(activeflow.status).toBe('ended');
  });

  it('ends a runaway flow at the execute limit and hangs the call up', async () => {
    const { activeflow } = await runFlow([
      { id: id(20), type: 'variable_set', option: { key: 'x', value: 'y' } },
      { type: 'goto', option: { target_id: id(20), loop_count: 1000 } },
    ]);
    expect(activeflow.end_reason).toMatch(/more than 50 actions/);
    expect(calls.operations.at(-1)).toBe('hangup normal');
  });

  it('pushes the actions ai_talk returns and resumes after it on service_stop', async () => {
    const serviceId = '99999999-9999-4999-8999-999999999999';
    pushActions = [{ id: serviceId, type: 'block' }];
    const aiId = '22222222-2222-4222-8222-222222222222';
    const { activeflow, call } = await runFlow([
      { type: 'answer' },
      { type: 'ai_talk', option: { ai_id: aiId } },
      { type: 'talk', option: { text: 'back in the flow' } },
      { type: 'hangup' },
    ]);
    expect(started).toEqual([
      {
        kind: 'aicall',
        body: expect.objectContaining({ customer_id: customerId, activeflow_id: activeflow.id, assistance_type: 'ai', assistance_id: aiId, reference_type: 'call', reference_id: call!.id }),
      },
    ]);
    expect(activeflow).toMatchObject({ status: 'waiting', current_stack_id: serviceId, current_action: { id: serviceId, type: 'block' } });
    expect(activeflow.variables['voipbin.aicall.id']).toBe(serviceId);
    expect(started[0]!.body.duration).toBeUndefined();

    await expect(runner.serviceStop(activeflow.id, 'not-the-service')).rejects.toMatchObject({ reason: 'INVALID_STATE' });
    await runner.serviceStop(activeflow.id, serviceId);
    await runner.idle();
    const after = toActiveflow((await findActiveflow(context.db, activeflow.id))!);
    expect(calls.operations.slice(-2)).toEqual(['talk back in the flow', 'hangup normal']);
    expect(after).toMatchObject({ status: 'ended', stacks: [expect.objectContaining({ id: 'main' })] });
  });

  it('passes ai_talk\'s duration to ai-manager as the session\'s time limit', async () => {
    pushActions = [{ id: '99999999-9999-4999-8999-999999999998', type: 'block' }];
    await runFlow([{ type: 'answer' }, { type: 'ai_talk', option: { ai_id: '22222222-2222-4222-8222-222222222222', duration: 90 } }, { type: 'hangup' }]);
    expect(started).toEqual([{ kind: 'aicall', body: expect.objectContaining({ assistance_id: '22222222-2222-4222-8222-222222222222', duration: 90 }) }]);
  });

  it('waits in a block until continue names it', async () => {
    const { activeflow } = await runFlow([{ id: id(30), type: 'block' }, { type: 'variable_set', option: { key: 'done', value: 'yes' } }], 'api');
    expect(activeflow.status).toBe('waiting');
    await expect(runner.continueBlock(activeflow.id, id(31))).rejects.toMatchObject({ reason: 'INVALID_STATE' });
    await runner.continueBlock(activeflow.id, id(30));
    await runner.idle();
    const after = toActiveflow((await findActiveflow(context.db, activeflow.id))!);
    expect(after).toMatchObject({ status: 'ended', end_reason: 'the flow has no more actions', variables: expect.objectContaining({ done: 'yes' }) });
  });

  it('stops at once when the caller hangs up mid-talk', async () => {
    calls.holdTalks = true;
    const flow = await createFlow(context, customerId, { actions: [{ type: 'talk', option: { text: 'a long speech' } }, { type: 'hangup' }] });
    const call = await newCall();
    const activeflow = await runner.startFlow({ customerId, flowId: flow.id, referenceType: 'call', referenceId: call.id, variables: {} });
    while (!calls.operations.includes('talk a long speech')) await new Promise((resolve) => setTimeout(resolve, 5));
    await markCallHangup(context.db, call.id, 'remote', 'normal');
    const stopped = await runner.stop(activeflow.id, 'the call hung up', { hangup: false });
    await runner.idle();
    expect(stopped).toMatchObject({ status: 'ended', end_reason: 'the call hung up' });
    expect(calls.operations).toEqual(['talk a long speech']);
  });

  it('fails a call action on an activeflow without a call, with a clear reason', async () => {
    const { activeflow } = await runFlow([{ type: 'answer' }], 'api');
    expect(activeflow.end_reason).toMatch(/action answer .* failed: This action needs a call, and the activeflow runs for api/);
  });

  it('publishes created, updated and ended events', async () => {
    events.length = 0;
    const { activeflow } = await runFlow([{ type: 'variable_set', option: { key: 'a', value: 'b' } }], 'api');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const mine = events.filter((event) => (event.data as { id?: string }).id === activeflow.id).map((event) => event.type);
    expect(mine[0]).toBe('activeflow_created');
    expect(mine).toContain('activeflow_updated');
    expect(mine.at(-1)).toBe('activeflow_ended');
  });
});

describe('on-complete flows', () => {
  it('stops a flow that completes into itself after maxOnCompleteChain starts', async () => {
    const flow = await createFlow(context, customerId, { actions: [{ type: 'variable_set', option: { key: 'a', value: 'b' } }] });
    await updateFlow(context, customerId, flow.id, { actions: [{ type: 'variable_set', option: { key: 'a', value: 'b' } }], on_complete_flow_id: flow.id });
    await runner.startFlow({ customerId, flowId: flow.id, referenceType: 'api', referenceId: null, variables: {} });
    const count = async () =>
      (await context.db.selectFrom('activeflows').select((eb) => eb.fn.countAll<string>().as('n')).where('flow_id', '=', flow.id).executeTakeFirstOrThrow()).n;
    for (let wait = 0; wait < 50 && Number(await count()) < maxOnCompleteChain + 1; wait += 1) await runner.idle().then(() => new Promise((resolve) => setTimeout(resolve, 20)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await runner.idle();
    expect(Number(await count())).toBe(maxOnCompleteChain + 1);
  });
});

describe('flow validation', () => {
  it('rejects a bad action naming its position and type', async () => {
    const error = await createFlow(context, customerId, {
      actions: [{ type: 'answer' }, { type: 'talk', option: { txt: 'typo' } }],
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ reason: 'VALIDATION_FAILED', status: 'INVALID_ARGUMENT' });
    expect((error as Error).message).toMatch(/actions\[1\] \(talk\)/);
  });

  it('rejects references to actions that do not exist and unknown types', async () => {
    await expect(createFlow(context, customerId, { actions: [{ type: 'goto', option: { target_id: id(99) } }] })).rejects.toThrow(
      /not an action of this flow/,
    );
    await expect(createFlow(context, customerId, { actions: [{ type: 'dance' }] })).rejects.toThrow(/actions\[0\] \(dance\)/);
  });

  it('assigns ids and fills in defaults', async () => {
    const flow = await createFlow(context, customerId, { actions: [{ type: 'talk', option: { text: 'hi' } }] });
    const action = flow.actions[0] as Action;
    expect(action.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(action.option).toEqual({ text: 'hi', language: 'en-US', voice: '' });
  });
});
