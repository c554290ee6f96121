import { defaultInterruptionConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { judgeWords, wordsOf } from './interruption-words.ts';

const backchannel = defaultInterruptionConfig.backchannel_words;

describe('judgeWords', () => {
  it('takes acknowledgements for a backchannel, punctuation and case aside', () => {
    expect(judgeWords('Mhm.', backchannel, 1)).toBe('backchannel');
    expect(judgeWords('Uh-huh, okay, right!', backchannel, 1)).toBe('backchannel');
    expect(judgeWords('yeah all right', backchannel, 1)).toBe('backchannel');
  });

  it('takes any other word for a real interruption, and needs min_words of them', () => {
    expect(judgeWords('okay but wait', backchannel, 1)).toBe('real');
    expect(judgeWords('okay but wait', backchannel, 3)).toBe('backchannel');
    expect(judgeWords('no', backchannel, 1)).toBe('real');
  });

  it('matches a phrase only whole ("i see" is one, "i" alone is not)', () => {
    expect(judgeWords('I see', backchannel, 1)).toBe('backchannel');
    expect(judgeWords('I want', backchannel, 1)).toBe('real');
  });

  it('has no verdict without words, and with min_words 0 any word interrupts', () => {
    expect(judgeWords(' ... ', backchannel, 1)).toBe('none');
    expect(judgeWords('mhm', backchannel, 0)).toBe('real');
  });

  it('splits on anything but letters, digits and apostrophes', () => {
    expect(wordsOf("Don't — stop, 42!")).toEqual(["don't", 'stop', '42']);
  });
});
