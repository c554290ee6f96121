/** Words that end with a dot without ending a sentence (lower case, without the dot). */
const abbreviations = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'nr',
  'inc', 'ltd', 'co', 'corp', 'dept', 'est', 'fig', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug',
  'sep', 'sept', 'oct', 'nov', 'dec', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'a.m', 'p.m',
  'u.s', 'u.k', 'min', 'max', 'tel', 'ave', 'blvd', 'mt',
]);

const closers = new Set(['"', "'", ')', ']', '»', '”', '’']);
const fullWidthEnders = new Set(['。', '！', '？', '!', '?']);

/**
 * Cuts streamed LLM text into sentences for TTS, as soon as each is complete. A sentence
 * ends at `.`, `!`, `?` (and their full-width forms) followed by whitespace, or at a line
 * break; not after an abbreviation (`Dr.`), an initial (`J.`), inside a number (`3.14`,
 * `1,000.5`) or an ellipsis that continues the sentence. Text shorter than `minLength` is
 * held back and joined with what follows, so TTS never gets "Hi." alone as a tiny request
 * unless it is all there is.
 */
export class SentenceSplitter {
  private buffer = '';

  constructor(private readonly minLength = 8) {}

  /** Adds streamed text; returns the sentences it completed (possibly none). */
  push(text: string): string[] {
    this.buffer += text;
    const sentences: string[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const end = this.boundaryAt(index);
      if (end === undefined) continue;
      const sentence = this.buffer.slice(start, end).trim();
      if (sentence.length >= this.minLength) {
        sentences.push(sentence);
        start = end;
      }
      index = end - 1;
    }
    this.buffer = this.buffer.slice(start);
    return sentences;
  }

  /** The rest at the end of the stream (may be an unfinished sentence), or ''. */
  flush(): string {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest;
  }

  /**
   * If a sentence ends at `index`, the position just after it (terminator and closing quotes
   * included); undefined when it does not or when the next character is not known yet.
   */
  private boundaryAt(index: number): number | undefined {
    const text = this.buffer;
    const char = text[index]!;
    if (char === '\n') return index + 1;
    if (fullWidthEnders.has(char) && (char === '。' || char === '！' || char === '？')) return index + 1;
    if (char !== '.' && char !== '!' && char !== '?') return undefined;
    // A run of marks is judged once, from its first mark.
    if (index > 0 && text[index - 1] === char) return undefined;
    let end = index + 1;
    while (end < text.length && (closers.has(text[end]!) || text[end] === char)) end++;
    if (end >= text.length) return undefined; // Wait for what follows.
    if (!/\s/.test(text[end]!)) return undefined; // "3.14", "e.g.x", "a.m.," ...
    if (char !== '.') return end;
    // An ellipsis inside a sentence ("Well... maybe") ends it only before a capital letter.
    if (text.slice(index, end).startsWith('...')) return this.nextStartsUpper(end) ? end : undefined;
    const word = /([\p{L}.]+)\.*$/u.exec(text.slice(0, index + 1).replace(/\.+$/, '.').slice(0, -1))?.[1] ?? '';
    if (abbreviations.has(word.toLowerCase())) return undefined;
    if (/^\p{Lu}$/u.test(word)) return undefined; // An initial: "J. R. R. Tolkien".
    return end;
  }

  private nextStartsUpper(from: number): boolean {
    const rest = this.buffer.slice(from).trimStart();
    return rest.length > 0 && /^\p{Lu}/u.test(rest);
  }
}
