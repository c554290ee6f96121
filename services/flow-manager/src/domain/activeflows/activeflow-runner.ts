import { appError, isAppError, type Action, type Activeflow, type ActiveflowStatus } from '@avp/shared';
import { callHandle, findCall } from '../calls/call-store.ts';
import type { CallControl } from '../calls/call-control.ts';
import type { DomainContext } from '../context.ts';
import { findFlow } from '../flows/flow-service.ts';
import { InlineAiReleaser } from '../flows/inline-ai-release.ts';
import { KeyedMutex } from '../keyed-mutex.ts';
import { setVariables, substituteDeep } from '../variables/variables.ts';
import {
  executionStateOf,
  findActiveflow,
  insertActiveflow,
  saveActiveflow,
  toActiveflow,
  type ActiveflowRow,
  type NewActiveflow,
} from './activeflow-store.ts';
import { ActionExecutor, checkedPushActions, type CallRecorder, type FlowExternalMedia, type Outcome, type ServiceStarter, type Working } from './action-executor.ts';
import { advance, currentAction, insertAfterCurrent, insertBeforeCurrent, jump, popService, push } from './stack-machine.ts';

export type { ServiceKind, ServiceStarter } from './action-executor.ts';

/** The longest chain of on-complete flows one activeflow may start (a flow completing into itself stops here). */
export const maxOnCompleteChain = 10;

export interface ActiveflowRunnerOptions {
  /** Actions one activeflow may execute in all (a guard against endless loops). */
  maxExecuteCount?: number;
  /** What `recording_start` / `recording_stop` use; without it they fail with SERVICE_UNAVAILABLE. */
  recordings?: CallRecorder;
  /** What `external_media_start` / `external_media_stop` use; without it they fail with SERVICE_UNAVAILABLE. */
  externalMedia?: FlowExternalMedia;
}

/**
 * Runs activeflows: executes actions one by one, persisting where it is after each, waits
 * where an action waits (`block`, a service's stack), and resumes on `continue`,
 * `service_stop` and the like. Work on one activeflow is serialized; a hard stop aborts the
 * action in progress (a talk, a connect) at once.
 */
export class ActiveflowRunner {
  private readonly mutex = new KeyedMutex();
  private readonly running = new Map<string, AbortController>();
  private readonly loops = new Set<Promise<void>>();
  /** Activeflows with a loop running, and those whose state changed while it ran. */
  private readonly active = new Set<string>();
  private readonly rerun = new Set<string>();
  private readonly loopOf = new Map<string, Promise<void>>();
  private readonly executor: ActionExecutor;
  private readonly maxExecuteCount: number;
  /** Releases the inline AIs of activeflows started with actions and of outgoing calls. */
  readonly inlineAis: InlineAiReleaser;

  constructor(
    private readonly context: DomainContext,
    private readonly calls: CallControl,
    services: ServiceStarter,
    options: ActiveflowRunnerOptions = {},
  ) {
    this.executor = new ActionExecutor(context, calls, services, options.recordings, options.externalMedia);
    this.maxExecuteCount = options.maxExecuteCount ?? 1000;
    this.inlineAis = new InlineAiReleaser(context);
  }

  /** Creates an activeflow and starts running it in the background. */
  async start(input: NewActiveflow): Promise<Activeflow> {
    const row = await insertActiveflow(this.context.db, input);
    const activeflow = toActiveflow(row);
    await this.context.publish('activeflow_created', activeflow);
    this.schedule(row.id);
    return activeflow;
  }

  /** Creates an activeflow for a stored flow. */
  async startFlow(input: Omit<NewActiveflow, 'actions' | 'flowId'> & { flowId: string }): Promise<Activeflow> {
    const flow = await findFlow(this.context.db, input.customerId, input.flowId);
    if (!flow) throw appError('RESOURCE_NOT_FOUND', 'Flow not found.');
    return this.start({ ...input, actions: flow.actions, variables: { ...input.variables, 'voipbin.flow.id': flow.id } });
  }

  /** Resolves when no activeflow is being run (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.allSettled([...this.loops]);
  }

  /** Hard stop: ends the activeflow (and hangs its call up unless `hangup` is false). */
  async stop(id: string, reason: string, options: { hangup?: boolean } = {}): Promise<Activeflow> {
    // A call ending because the flow's own hangup action ended it needs no stop: the
    // action finishes the activeflow itself (with reason "hangup action").
    if (this.executor.isHangingUp(id)) {
      await this.loopOf.get(id);
      return toActiveflow(await this.load(id));
    }
    this.running.get(id)?.abort();
    return this.mutex.run(id, async () => {
      const row = await this.load(id);
      if (row.status === 'ended') return toActiveflow(row);
      return this.finish(this.working(row), reason, options.hangup ?? true);
    });
  }

  /** Releases a `block`: the current action must be that block. */
  async continueBlock(id: string, actionId: string): Promise<Activeflow> {
    const activeflow = await this.mutex.run(id, async () => {
      const working = this.working(await this.load(id));
      const action = currentAction(working.state);
      if (working.row.status !== 'waiting' || action?.type !== 'block' || action.id !== actionId) {
        throw appError('INVALID_STATE', `The activeflow is not waiting in the block ${actionId}.`);
      }
      working.state = advance(working.state);
      return this.save(working, 'running');
    });
    this.schedule(id);
    return activeflow;
  }

  /**
   * Soft stop of a service: leaves its stack and goes on after the action that started it,
   * running `then` first when given (connect_call: a `connect` before the rest of the flow).
   */
  async serviceStop(id: string, serviceId: string, then: unknown[] = []): Promise<Activeflow> {
    const followUp = checkedPushActions(then);
    const activeflow = await this.mutex.run(id, async () => {
      const working = this.working(await this.load(id));
      if (working.row.status === 'ended') throw appError('INVALID_STATE', 'The activeflow has ended.');
      const popped = popService(working.state, serviceId);
      if (!popped) throw appError('INVALID_STATE', `The activeflow is not running the service ${serviceId}.`);
      working.state = insertBeforeCurrent(popped, followUp);
      return this.save(working, 'running');
    });
    this.schedule(id);
    return activeflow;
  }

  /** Inserts actions after the current one (`add_actions`, used by connect_call). */
  async addActions(id: string, inputs: unknown[]): Promise<Activeflow> {
    const actions = checkedPushActions(inputs);
    return this.mutex.run(id, async () => {
      const working = this.working(await this.load(id));
      if (working.row.status === 'ended') throw appError('INVALID_STATE', 'The activeflow has ended.');
      working.state = insertAfterCurrent(working.state, actions);
      return this.save(working, working.row.status as ActiveflowStatus);
    });
  }

  /** Sets variables (each value substituted first); a limit exceeded is a 400. */
  async setVariables(id: string, updates: Record<string, string>): Promise<Record<string, string>> {
    return this.mutex.run(id, async () => {
      const working = this.working(await this.load(id));
      working.variables = setVariables(working.variables, updates);
      await this.save(working, working.row.status as ActiveflowStatus);
      return working.variables;
    });
  }

  private schedule(id: string): void {
    // One loop per activeflow: a loop already running picks up the new state itself.
    if (this.active.has(id)) {
      this.rerun.add(id);
      return;
    }
    const loop = this.run(id).catch((error: unknown) => {
      this.context.logger.error({ err: error, activeflowId: id }, 'activeflow run failed');
    });
    this.loops.add(loop);
    this.loopOf.set(id, loop);
    void loop.finally(() => {
      this.loops.delete(loop);
      if (this.loopOf.get(id) === loop) this.loopOf.delete(id);
    });
  }

  /**
   * Runs actions until the activeflow waits or ends. The lock is held only to decide what to
   * run and to apply its outcome, never while an action runs: an action that waits on
   * another service (ai_talk starting a session, which sets variables here) cannot deadlock,
   * and a hard stop gets in at once.
   */
  private async run(id: string): Promise<void> {
    this.active.add(id);
    const controller = new AbortController();
    this.running.set(id, controller);
    const signal = controller.signal;
    try {
      for (;;) {
        const step = await this.mutex.run(id, () => this.nextStep(id));
        if (!step || signal.aborted) return;
        const { snapshot, action } = step;
        const scratch: Working = { ...snapshot, variables: { ...snapshot.variables }, gotoCounts: { ...snapshot.gotoCounts } };
        let outcome: Outcome;
        try {
          const option = substituteDeep(action.option, snapshot.variables);
          outcome = await this.executor.execute(scratch, { ...action, option }, signal);
        } catch (error) {
          if (signal.aborted) return;
          const message = isAppError(error) || error instanceof Error ? error.message : String(error);
          this.context.logger.warn({ activeflowId: id, action: action.type, err: error }, 'action failed');
          outcome = { kind: 'end', reason: `action ${action.type} (${action.id}) failed: ${message}`, hangup: true };
        }
        if (signal.aborted) return;
        const finished = await this.mutex.run(id, () => this.applyOutcome(id, snapshot, scratch, action, outcome));
        if (finished) return;
      }
    } finally {
      this.active.delete(id);
      if (this.running.get(id) === controller) this.running.delete(id);
    }
  }

  /** Under the lock: the action to run next (or the end of the flow), counted and saved. */
  private async nextStep(id: string): Promise<{ snapshot: Working; action: Action } | undefined> {
    this.rerun.delete(id);
    const row = await findActiveflow(this.context.db, id);
    if (!row || row.status !== 'running') return undefined;
    const working = this.working(row);
    const action = currentAction(working.state);
    if (!action) {
      await this.finish(working, 'the flow has no more actions', true);
      return undefined;
    }
    working.executeCount++;
    if (working.executeCount > this.maxExecuteCount) {
      await this.finish(working, `more than ${this.maxExecuteCount} actions were executed (a loop?)`, true);
      return undefined;
    }
    await this.save(working, 'running');
    return { snapshot: working, action };
  }

  /**
   * Under the lock: applies what an action led to, on the activeflow as it is now (others
   * may have set variables or added actions meanwhile). Returns true when the loop is done.
   */
  private async applyOutcome(id: string, snapshot: Working, scratch: Working, action: Action, outcome: Outcome): Promise<boolean> {
    const row = await findActiveflow(this.context.db, id);
    if (!row || row.status === 'ended') return true;
    const working = this.working(row);
    const current = working.state.current;
    if (!current || current.actionId !== action.id || current.stackId !== snapshot.state.current?.stackId) {
      // Moved meanwhile (a service stop, say): go on from where it is now.
      return false;
    }
    for (const [key, value] of Object.entries(scratch.variables)) {
      if (snapshot.variables[key] !== value) working.variables = { ...working.variables, [key]: value };
    }
    for (const [key, count] of Object.entries(scratch.gotoCounts)) {
      if (snapshot.gotoCounts[key] !== count) working.gotoCounts = { ...working.gotoCounts, [key]: count };
    }
    switch (outcome.kind) {
      case 'next':
        working.state = advance(working.state);
        break;
      case 'jump':
        working.state = jump(working.state, outcome.actionId);
        break;
      case 'push':
        working.state = push(working.state, outcome.stackId, outcome.actions);
        break;
      case 'wait':
        await this.save(working, 'waiting');
        return !this.rerun.has(id);
      case 'end':
        await this.finish(working, outcome.reason, outcome.hangup);
        return true;
    }
    await this.save(working, 'running');
    return false;
  }

  private async finish(working: Working, reason: string, hangup: boolean): Promise<Activeflow> {
    const { row } = working;
    const activeflow = await this.save(working, 'ended', reason);
    this.context.logger.info({ activeflowId: row.id, reason }, 'activeflow ended');
    await this.context.publish('activeflow_ended', activeflow);
    // The inline AIs it was started with go once nothing else needs them (in the background: never fails the end).
    void this.inlineAis.activeflowEnded(working.row);
    if (hangup && row.reference_type === 'call' && row.reference_id) {
      const call = await findCall(this.context.db, row.reference_id);
      if (call && call.status !== 'hangup') {
        await this.calls.hangup(callHandle(call), 'normal').catch((error: unknown) => {
          this.context.logger.warn({ err: error, callId: call.id }, 'could not hang the call up');
        });
      }
    }
    if (row.flow_id) {
      const flow = await findFlow(this.context.db, row.customer_id, row.flow_id);
      if (flow?.on_complete_flow_id && (await this.onCompleteDepth(row)) >= maxOnCompleteChain) {
        // A flow that completes into itself (directly or through others) would run for ever.
        this.context.logger.warn({ activeflowId: row.id, flowId: row.flow_id, limit: maxOnCompleteChain }, 'on-complete flows chained too deep; not starting another');
      } else if (flow?.on_complete_flow_id) {
        await this.startFlow({
          customerId: row.customer_id,
          flowId: flow.on_complete_flow_id,
          referenceType: 'flow',
          referenceId: row.id,
          variables: working.variables,
        }).catch((error: unknown) => this.context.logger.warn({ err: error, activeflowId: row.id }, 'could not start the on-complete flow'));
      }
    }
    return activeflow;
  }

  /** How many on-complete starts led to this activeflow (0 for one that something else started). */
  private async onCompleteDepth(row: ActiveflowRow): Promise<number> {
    let depth = 0;
    let current: ActiveflowRow | undefined = row;
    while (current?.reference_type === 'flow' && current.reference_id && depth < maxOnCompleteChain) {
      depth += 1;
      current = await findActiveflow(this.context.db, current.reference_id);
    }
    return depth;
  }

  private async save(working: Working, status: ActiveflowStatus, endReason?: string): Promise<Activeflow> {
    working.row = await saveActiveflow(this.context.db, working.row.id, {
      state: working.state,
      status,
      variables: working.variables,
      gotoCounts: working.gotoCounts,
      executeCount: working.executeCount,
      endReason,
    });
    const activeflow = toActiveflow(working.row);
    if (status !== 'ended') await this.context.publish('activeflow_updated', activeflow);
    return activeflow;
  }

  private async load(id: string): Promise<ActiveflowRow> {
    const row = await findActiveflow(this.context.db, id);
    if (!row) throw appError('RESOURCE_NOT_FOUND', 'Activeflow not found.');
    return row;
  }

  private working(row: ActiveflowRow): Working {
    return {
      row,
      state: executionStateOf(row),
      variables: row.variables,
      gotoCounts: row.goto_counts,
      executeCount: row.execute_count,
    };
  }
}
