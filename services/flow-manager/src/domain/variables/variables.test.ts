import { describe, expect, it } from 'vitest';
import { setVariables, substitute, substituteDeep, variableLimits } from './variables.ts';

describe('variables', () => {
  it('substitutes placeholders, unknown ones with the empty string', () => {
    const variables = { 'voipbin.call.source': '+15551234', name: 'Ada' };
    expect(substitute('Hello ${name}, you called from ${voipbin.call.source}.${missing}', variables)).toBe(
      'Hello Ada, you called from +15551234.',
    );
    expect(substitute('no placeholders', variables)).toBe('no placeholders');
  });

  it('substitutes every string in an option', () => {
    expect(substituteDeep({ text: 'Hi ${n}', list: ['${n}', 1], nested: { deep: '${n}!' }, flag: true }, { n: 'x' })).toEqual({
      text: 'Hi x',
      list: ['x', 1],
      nested: { deep: 'x!' },
      flag: true,
    });
  });

  it('substitutes values against the current variables when setting', () => {
    expect(setVariables({ a: '1' }, { b: '${a}-2' })).toEqual({ a: '1', b: '1-2' });
  });

  it('enforces the limits with a clear error', () => {
    expect(() => setVariables({}, { ['k'.repeat(variableLimits.maxKeyLength + 1)]: 'v' })).toThrow(/1 to 128 characters/);
    expect(() => setVariables({}, { k: 'v'.repeat(variableLimits.maxValueLength + 1) })).toThrow(/longer than/);
    const many = Object.fromEntries(Array.from({ length: variableLimits.maxCount }, (_, i) => [`k${i}`, 'v']));
    expect(() => setVariables(many, { one_more: 'v' })).toThrow(/at most 500/);
  });
});
