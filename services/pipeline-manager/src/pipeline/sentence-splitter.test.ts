import { describe, expect, it } from 'vitest';
import { SentenceSplitter } from './sentence-splitter.ts';

/** Feeds text in small chunks, as an LLM streams it, and collects every sentence. */
function split(text: string, chunk = 3, minLength = 1): string[] {
  const splitter = new SentenceSplitter(minLength);
  const sentences: string[] = [];
  for (let index = 0; index < text.length; index += chunk) sentences.push(...splitter.push(text.slice(index, index + chunk)));
  const rest = splitter.flush();
  if (rest) sentences.push(rest);
  return sentences;
}

describe('SentenceSplitter', () => {
  it('splits on sentence ends as soon as the next character shows the end', () => {
    expect(split('Hello there. How are you? I am fine!')).toEqual(['Hello there.', 'How are you?', 'I am fine!']);
    const splitter = new SentenceSplitter(1);
    expect(splitter.push('First one.')).toEqual([]);
    expect(splitter.push(' Second')).toEqual(['First one.']);
  });

  it('does not break on abbreviations, initials, numbers or decimals', () => {
    expect(split('Dr. Smith paid $3.50 for 1,000.5 units, e.g. apples. Then J. R. R. Tolkien wrote. Mr. Brown left at 5 p.m. today.')).toEqual([
      'Dr. Smith paid $3.50 for 1,000.5 units, e.g. apples.',
      'Then J. R. R. Tolkien wrote.',
      'Mr. Brown left at 5 p.m. today.',
    ]);
    expect(split('Version 2.0.1 is out. Visit example.com now.')).toEqual(['Version 2.0.1 is out.', 'Visit example.com now.']);
  });

  it('keeps closing quotes and repeated marks with the sentence', () => {
    expect(split('He said "stop." Then left?! Really...')).toEqual(['He said "stop."', 'Then left?!', 'Really...']);
  });

  it('treats an ellipsis before a lower-case word as part of the sentence', () => {
    expect(split('Well... maybe not. Wait... Yes.')).toEqual(['Well... maybe not.', 'Wait...', 'Yes.']);
  });

  it('splits on line breaks and full-width punctuation', () => {
    expect(split('One\nTwo')).toEqual(['One', 'Two']);
    expect(split('こんにちは。元気ですか？はい')).toEqual(['こんにちは。', '元気ですか？', 'はい']);
  });

  it('holds very short sentences back to join them with the next', () => {
    expect(split('Hi. Welcome to the clinic. Ok.', 3, 8)).toEqual(['Hi. Welcome to the clinic.', 'Ok.']);
  });
});
