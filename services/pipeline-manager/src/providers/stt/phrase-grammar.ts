import { readFile } from 'node:fs/promises';

/** The spoken digits `<digit>` / `<digits>` stand for. */
const digitWords = ['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const numeralWords = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/**
 * A phrase as grammar tokens: lower case, numerals spoken digit by digit, punctuation
 * dropped (apostrophes inside words kept), `<digit>` / `<digits>` kept as placeholders.
 */
export function phraseTokens(phrase: string): string[] {
  return phrase
    .toLowerCase()
    .replace(/<\s*(digits?)\s*>/g, ' <$1> ')
    .replace(/\d/g, (digit) => ` ${numeralWords[Number(digit)]} `)
    .replace(/[^a-z'<> ]+/g, ' ')
    .split(/\s+/)
    .map((token) => (token.startsWith('<') ? token : token.replace(/^'+|'+$/g, '').replace(/[<>]/g, '')))
    .filter((token) => token !== '');
}

export interface GrammarResult {
  /** JSGF text, or undefined when no phrase is usable. */
  grammar: string | undefined;
  /** The phrases in the grammar, as tokens joined by spaces. */
  accepted: string[];
  /** Phrases left out, with the words the dictionary does not know. */
  rejected: Array<{ phrase: string; unknownWords: string[] }>;
}

/** A JSGF grammar accepting exactly one of the phrases; phrases with unknown words are left out. */
export function buildGrammar(phrases: readonly string[], dictionary: ReadonlySet<string>): GrammarResult {
  const accepted: string[] = [];
  const rejected: GrammarResult['rejected'] = [];
  for (const phrase of phrases) {
    const tokens = phraseTokens(phrase).filter((token) => !token.startsWith('<') || token === '<digit>' || token === '<digits>');
    if (tokens.length === 0) continue;
    const unknownWords = tokens.filter((token) => !token.startsWith('<') && !dictionary.has(token));
    if (unknownWords.length > 0) {
      rejected.push({ phrase, unknownWords: [...new Set(unknownWords)] });
      continue;
    }
    const text = tokens.join(' ');
    if (!accepted.includes(text)) accepted.push(text);
  }
  if (accepted.length === 0) return { grammar: undefined, accepted, rejected };
  const alternatives = accepted.map((text) => text.replace(/<digits>/g, '<digit>+'));
  const grammar = [
    '#JSGF V1.0;',
    'grammar phrases;',
    `<digit> = ${digitWords.join(' | ')};`,
    `public <phrase> = ${alternatives.join(' | ')};`,
    '',
  ].join('\n');
  return { grammar, accepted, rejected };
}

const dictionaries = new Map<string, Promise<Set<string>>>();

/** The words of a CMU pronouncing dictionary (`word(2)` variants folded), read once per path. */
export function loadDictionary(path: string): Promise<Set<string>> {
  let words = dictionaries.get(path);
  if (!words) {
    words = readFile(path, 'utf8').then((text) => {
      const set = new Set<string>();
      for (const line of text.split('\n')) {
        const word = line.slice(0, line.indexOf(' ')).replace(/\(\d+\)$/, '');
        if (word) set.add(word.toLowerCase());
      }
      return set;
    });
    words.catch(() => dictionaries.delete(path));
    dictionaries.set(path, words);
  }
  return words;
}
