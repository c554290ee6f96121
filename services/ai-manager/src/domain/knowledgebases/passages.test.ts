import { describe, expect, it } from 'vitest';
import { splitIntoPassages } from './passages.ts';
import { textSearchConfigFor } from './text-search-config.ts';

describe('splitIntoPassages', () => {
  it('keeps a short text as one passage, trimmed, with Windows line ends normalised', () => {
    expect(splitIntoPassages('  Hello.\r\n\r\nWorld.  \r\n')).toEqual(['Hello.\n\nWorld.']);
    expect(splitIntoPassages(' \n\n \t\n')).toEqual([]);
  });

  it('packs paragraphs up to the target and starts a new passage at a paragraph boundary', () => {
    const paragraph = (letter: string) => `${letter.repeat(300)}.`;
    const text = ['a', 'b', 'c', 'd', 'e'].map(paragraph).join('\n\n');
    const passages = splitIntoPassages(text, { targetChars: 800, maxChars: 1000 });
    expect(passages).toEqual([`${paragraph('a')}\n\n${paragraph('b')}`, `${paragraph('c')}\n\n${paragraph('d')}`, paragraph('e')]);
  });

  it('splits a long paragraph between sentences, never over the maximum', () => {
    const sentences = Array.from({ length: 40 }, (_, index) => `Sentence number ${index} says something useful about the product.`);
    const passages = splitIntoPassages(sentences.join(' '));
    expect(passages.length).toBeGreaterThan(2);
    for (const passage of passages) {
      expect(passage.length).toBeLessThanOrEqual(1000);
      expect(passage).toMatch(/^Sentence number \d+ .*\.$/s);
    }
    expect(passages.join(' ')).toBe(sentences.join(' '));
  });

  it('cuts a sentence without spaces at the maximum, keeping surrogate pairs whole', () => {
    const text = '가'.repeat(2500);
    expect(splitIntoPassages(text).map((passage) => passage.length)).toEqual([1000, 1000, 500]);
    const emoji = `x${'😀'.repeat(600)}`;
    const pieces = splitIntoPassages(emoji);
    expect(pieces.join('')).toBe(emoji);
    // No piece starts with the second half of a pair or ends with the first half.
    for (const piece of pieces) expect(piece).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });

  it('cuts an overlong sentence between words', () => {
    const words = Array.from({ length: 400 }, (_, index) => `word${index}`).join(' ');
    const passages = splitIntoPassages(words);
    for (const passage of passages) {
      expect(passage.length).toBeLessThanOrEqual(1000);
      expect(passage).toMatch(/^word\d+( word\d+)*$/);
    }
    expect(passages.join(' ')).toBe(words);
  });
});

describe('textSearchConfigFor', () => {
  it('stems the languages PostgreSQL ships a configuration for and falls back to simple', () => {
    expect(textSearchConfigFor('en-US')).toBe('english');
    expect(textSearchConfigFor('EN')).toBe('english');
    expect(textSearchConfigFor('de-DE')).toBe('german');
    expect(textSearchConfigFor('pt-BR')).toBe('portuguese');
    expect(textSearchConfigFor('nb-NO')).toBe('norwegian');
    expect(textSearchConfigFor('ko-KR')).toBe('simple');
    expect(textSearchConfigFor('')).toBe('simple');
  });
});
