import { describe, expect, it } from 'vitest';
import { heardPart } from './heard-text.ts';

describe('heardPart', () => {
  it('keeps whole words up to the heard share', () => {
    const sentence = 'I can book you for Tuesday at ten.';
    expect(heardPart(sentence, 1)).toBe(sentence);
    expect(heardPart(sentence, 0)).toBe('');
    expect(heardPart(sentence, 0.5)).toBe('I can book you');
    expect(heardPart(sentence, 0.6)).toBe('I can book you for');
    expect(heardPart(sentence, 0.05)).toBe('I');
  });
});
