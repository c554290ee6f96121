import type { Action, ActiveflowStack } from '@avp/shared';

/** The id of the stack holding the flow's own actions. */
export const mainStackId = 'main';

/** Where execution is: the stacks (bottom first) and the current action, if any. */
export interface ExecutionState {
  stacks: ActiveflowStack[];
  current: { stackId: string; actionId: string } | null;
}

/** A start state for a flow's actions (current = the first action, or none). */
export function initialState(actions: Action[]): ExecutionState {
  const stacks: ActiveflowStack[] = [{ id: mainStackId, actions, return_to: null }];
  const first = actions[0];
  return { stacks, current: first ? { stackId: mainStackId, actionId: first.id } : null };
}

/** The action execution is at, or null when the flow has run out of actions. */
export function currentAction(state: ExecutionState): Action | null {
  if (!state.current) return null;
  const stack = findStack(state, state.current.stackId);
  return stack?.actions.find((action) => action.id === state.current!.actionId) ?? null;
}

function findStack(state: ExecutionState, stackId: string): ActiveflowStack | undefined {
  return state.stacks.find((stack) => stack.id === stackId);
}

/**
 * Moves past the current action: to its `next_id` when it has one, else to the following
 * action of its stack; a stack that runs out is removed and execution goes on after the
 * action that pushed it. The main stack running out ends execution (current = null).
 */
export function advance(state: ExecutionState): ExecutionState {
  const action = currentAction(state);
  if (!state.current || !action) return { ...state, current: null };
  if (action.next_id) return jump(state, action.next_id);
  return after(state, state.current.stackId, state.current.actionId);
}

/** The state with execution at the action after `actionId` of `stackId`, unwinding ended stacks. */
function after(state: ExecutionState, stackId: string, actionId: string): ExecutionState {
  const stack = findStack(state, stackId);
  if (!stack) return { ...state, current: null };
  const index = stack.actions.findIndex((action) => action.id === actionId);
  const next = index >= 0 ? stack.actions[index + 1] : undefined;
  if (next) return { ...state, current: { stackId, actionId: next.id } };
  if (stackId === mainStackId || !stack.return_to) return { ...state, current: null };
  const popped = { ...state, stacks: state.stacks.filter((entry) => entry.id !== stackId) };
  return after(popped, stack.return_to.stack_id, stack.return_to.action_id);
}

/** Jumps to an action of the current stack (goto, branch, next_id). */
export function jump(state: ExecutionState, actionId: string): ExecutionState {
  if (!state.current) return state;
  const stack = findStack(state, state.current.stackId);
  if (!stack?.actions.some((action) => action.id === actionId)) {
    throw new Error(`action ${actionId} is not in the current stack`);
  }
  return { ...state, current: { stackId: stack.id, actionId } };
}

/**
 * Pushes actions a service returned as a new stack with the service's id, above the current
 * action; execution moves to its first action. An empty push just goes on after the current
 * action. Pushing a stack id that exists replaces nothing: it is an error.
 */
export function push(state: ExecutionState, stackId: string, actions: Action[]): ExecutionState {
  if (!state.current) throw new Error('nothing is running to push onto');
  if (findStack(state, stackId)) throw new Error(`stack ${stackId} exists already`);
  if (actions.length === 0) return after(state, state.current.stackId, state.current.actionId);
  const stack: ActiveflowStack = {
    id: stackId,
    actions,
    return_to: { stack_id: state.current.stackId, action_id: state.current.actionId },
  };
  return { stacks: [...state.stacks, stack], current: { stackId, actionId: actions[0]!.id } };
}

/**
 * Soft stop of a service: when execution is in the service's stack, removes it (and
 * anything it pushed) and goes on after the action that pushed it. Returns undefined when
 * execution is not in that stack (the service has nothing to give back).
 */
export function popService(state: ExecutionState, serviceId: string): ExecutionState | undefined {
  if (!state.current) return undefined;
  const index = state.stacks.findIndex((stack) => stack.id === serviceId);
  if (index <= 0) return undefined;
  const inside = state.stacks.slice(index).some((stack) => stack.id === state.current!.stackId);
  if (!inside) return undefined;
  const stack = state.stacks[index]!;
  const remaining = { ...state, stacks: state.stacks.slice(0, index) };
  return after(remaining, stack.return_to!.stack_id, stack.return_to!.action_id);
}

/** Inserts actions right after the current one in its stack (`add_actions`). */
export function insertAfterCurrent(state: ExecutionState, actions: Action[]): ExecutionState {
  if (!state.current) throw new Error('nothing is running to add actions to');
  const { stackId, actionId } = state.current;
  const ids = new Set(state.stacks.flatMap((stack) => stack.actions.map((action) => action.id)));
  for (const action of actions) if (ids.has(action.id)) throw new Error(`action id ${action.id} exists already`);
  return {
    ...state,
    stacks: state.stacks.map((stack) => {
      if (stack.id !== stackId) return stack;
      const index = stack.actions.findIndex((action) => action.id === actionId);
      return { ...stack, actions: [...stack.actions.slice(0, index + 1), ...actions, ...stack.actions.slice(index + 1)] };
    }),
  };
}

/**
 * Puts actions right before the current one, to run next (a service handing the flow back
 * with something to do first). With nothing current they run at the end of the main stack.
 */
export function insertBeforeCurrent(state: ExecutionState, actions: Action[]): ExecutionState {
  if (actions.length === 0) return state;
  const ids = new Set(state.stacks.flatMap((stack) => stack.actions.map((action) => action.id)));
  for (const action of actions) if (ids.has(action.id)) throw new Error(`action id ${action.id} exists already`);
  const target = state.current ?? { stackId: mainStackId, actionId: '' };
  return {
    stacks: state.stacks.map((stack) => {
      if (stack.id !== target.stackId) return stack;
      const index = stack.actions.findIndex((action) => action.id === target.actionId);
      const at = index < 0 ? stack.actions.length : index;
      return { ...stack, actions: [...stack.actions.slice(0, at), ...actions, ...stack.actions.slice(at)] };
    }),
    current: { stackId: target.stackId, actionId: actions[0]!.id },
  };
}
