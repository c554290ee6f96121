import { describe, expect, it } from 'vitest';
import { needsApology } from './session-resume.ts';

describe('needsApology', () => {
  const system = { role: 'system' };
  it('apologises when the caller\'s last words got no stored answer', () => {
    expect(needsApology([system, { role: 'assistant' }, { role: 'user' }], false)).toBe(true);
    expect(needsApology([system, { role: 'user' }, { role: 'notification' }], false)).toBe(true);
  });

  it('apologises when the old pipeline was speaking, whatever was stored', () => {
    expect(needsApology([system, { role: 'user' }, { role: 'assistant' }], true)).toBe(true);
  });

  it('says nothing when the last answer was stored and nothing was being said', () => {
    expect(needsApology([system, { role: 'assistant' }, { role: 'user' }, { role: 'assistant' }], false)).toBe(false);
    expect(needsApology([system], false)).toBe(false);
  });
});
