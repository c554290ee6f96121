import type { Action } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { advance, currentAction, initialState, insertAfterCurrent, jump, mainStackId, popService, push } from './stack-machine.ts';

let counter = 0;
function action(type: Action['type'], extra: Partial<Action> = {}): Action {
  counter++;
  return { id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`, type, option: {}, ...extra };
}

function walk(state: ReturnType<typeof initialState>): string[] {
  const seen: string[] = [];
  let current = state;
  for (let i = 0; i < 50 && currentAction(current); i++) {
    seen.push(currentAction(current)!.type);
    current = advance(current);
  }
  return seen;
}

describe('stack machine', () => {
  it('runs the main stack in order and ends after the last action', () => {
    const state = initialState([action('answer'), action('talk'), action('hangup')]);
    expect(walk(state)).toEqual(['answer', 'talk', 'hangup']);
    expect(currentAction(initialState([]))).toBeNull();
  });

  it('follows next_id and jumps', () => {
    const last = action('hangup');
    const first = action('answer', { next_id: last.id });
    const state = initialState([first, action('talk'), last]);
    expect(walk(state)).toEqual(['answer', 'hangup']);
    const jumped = jump(state, last.id);
    expect(currentAction(jumped)?.id).toBe(last.id);
    expect(() => jump(state, 'nowhere')).toThrow(/not in the current stack/);
  });

  it('pushes a service stack, runs it, and returns after the pushing action', () => {
    const aiTalk = action('ai_talk');
    const after = action('talk');
    let state = initialState([action('answer'), aiTalk, after]);
    state = advance(state);
    expect(currentAction(state)?.id).toBe(aiTalk.id);
    const block = action('block');
    state = push(state, 'service-1', [block]);
    expect(state.current).toEqual({ stackId: 'service-1', actionId: block.id });
    expect(state.stacks.map((stack) => stack.id)).toEqual([mainStackId, 'service-1']);
    // The pushed stack running out returns to the action after ai_talk.
    const ranOut = advance(state);
    expect(currentAction(ranOut)?.id).toBe(after.id);
    expect(ranOut.stacks.map((stack) => stack.id)).toEqual([mainStackId]);
  });

  it('pops a service on service_stop only while execution is inside it', () => {
    const aiTalk = action('ai_talk');
    const after = action('hangup');
    let state = advance(initialState([action('answer'), aiTalk, after]));
    expect(popService(state, 'service-1')).toBeUndefined();
    state = push(state, 'service-1', [action('block')]);
    expect(popService(state, 'other')).toBeUndefined();
    const resumed = popService(state, 'service-1')!;
    expect(currentAction(resumed)?.id).toBe(after.id);
    expect(resumed.stacks).toHaveLength(1);
  });

  it('treats an empty push as "go on" and refuses duplicate stacks', () => {
    const aiSummary = action('ai_summary');
    const next = action('talk');
    const state = initialState([aiSummary, next]);
    expect(currentAction(push(state, 'summary-1', []))?.id).toBe(next.id);
    const pushed = push(state, 'svc', [action('block')]);
    expect(() => push(pushed, 'svc', [action('block')])).toThrow(/exists already/);
  });

  it('inserts actions after the current one', () => {
    const first = action('answer');
    const last = action('hangup');
    const state = insertAfterCurrent(initialState([first, last]), [action('connect')]);
    expect(walk(state)).toEqual(['answer', 'connect', 'hangup']);
    expect(() => insertAfterCurrent(state, [first])).toThrow(/exists already/);
  });
});
