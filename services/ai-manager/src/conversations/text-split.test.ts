import { describe, expect, it } from 'vitest';
import { batches, maxLineTextLength, maxSmsBodyLength, splitText } from './text-split.ts';

describe('splitText', () => {
  it('keeps a short text whole, and an empty one as one piece', () => {
    expect(splitText('hello', maxSmsBodyLength)).toEqual(['hello']);
    expect(splitText('', maxSmsBodyLength)).toEqual(['']);
    expect(splitText('x'.repeat(maxSmsBodyLength), maxSmsBodyLength)).toHaveLength(1);
  });

  it('splits a long SMS into pieces of at most 1600 characters that join back to the text', () => {
    const text = 'word '.repeat(700); // 3500 characters
    const pieces = splitText(text, maxSmsBodyLength);
    expect(pieces.length).toBe(3);
    expect(pieces.every((piece) => piece.length <= maxSmsBodyLength)).toBe(true);
    expect(pieces.join('')).toBe(text);
    // Cut at a space: no word is split.
    expect(pieces.every((piece) => piece.endsWith(' ') || piece === pieces.at(-1))).toBe(true);
  });

  it('cuts a text without spaces at the limit, never inside a surrogate pair', () => {
    expect(splitText('a'.repeat(3201), maxSmsBodyLength).map((piece) => piece.length)).toEqual([1600, 1600, 1]);
    const emoji = '😀'.repeat(3000); // 6000 UTF-16 units
    const pieces = splitText(emoji, maxLineTextLength);
    expect(pieces.join('')).toBe(emoji);
    expect(pieces.every((piece) => piece.length <= maxLineTextLength && !/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(piece))).toBe(true);
  });

  it('batches items by five', () => {
    expect(batches([1, 2, 3, 4, 5, 6, 7], 5)).toEqual([[1, 2, 3, 4, 5], [6, 7]]);
    expect(batches([], 5)).toEqual([]);
  });
});
