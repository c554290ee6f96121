/**
 * Splitting a document into passages for search. A search answers with passages, not whole
 * documents, so that what the LLM reads is focused and short. Passages follow the text's own
 * boundaries: paragraphs (blank lines) are kept together and packed up to `targetChars`; a
 * paragraph longer than `maxChars` is split between sentences, and a sentence longer than
 * that between words (or, in text without spaces, at `maxChars`).
 */
export interface PassageOptions {
  /** Pieces are packed into one passage while it stays within this many characters. */
  targetChars: number;
  /** No passage is longer than this. */
  maxChars: number;
}

export const defaultPassageOptions: PassageOptions = { targetChars: 800, maxChars: 1000 };

interface Piece {
  text: string;
  /** Whether the piece begins a paragraph (joined with a blank line, else with a space). */
  paragraphStart: boolean;
}

const sentenceSegmenter = new Intl.Segmenter('und', { granularity: 'sentence' });

/** The passages of `text`, in order, each trimmed and non-empty. */
export function splitIntoPassages(text: string, options: PassageOptions = defaultPassageOptions): string[] {
  const pieces: Piece[] = [];
  for (const paragraph of paragraphsOf(text)) {
    const parts = paragraph.length <= options.maxChars ? [paragraph] : splitLongParagraph(paragraph, options.maxChars);
    parts.forEach((part, index) => pieces.push({ text: part, paragraphStart: index === 0 }));
  }
  const passages: string[] = [];
  let current = '';
  for (const piece of pieces) {
    const joined = current === '' ? piece.text : `${current}${piece.paragraphStart ? '\n\n' : ' '}${piece.text}`;
    if (current !== '' && joined.length > options.targetChars) {
      passages.push(current);
      current = piece.text;
    } else {
      current = joined;
    }
  }
  if (current !== '') passages.push(current);
  return passages;
}

/** Paragraphs: separated by blank lines, lines trimmed at the end, runs of spaces kept as they are. */
function paragraphsOf(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((paragraph) =>
      paragraph
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n')
        .trim(),
    )
    .filter((paragraph) => paragraph !== '');
}

/** Sentences packed up to `maxChars`; a sentence longer than that is cut between words. */
function splitLongParagraph(paragraph: string, maxChars: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const { segment } of sentenceSegmenter.segment(paragraph)) {
    const sentence = segment.trim();
    if (sentence === '') continue;
    const pieces = sentence.length <= maxChars ? [sentence] : cutBetweenWords(sentence, maxChars);
    for (const piece of pieces) {
      const joined = current === '' ? piece : `${current} ${piece}`;
      if (current !== '' && joined.length > maxChars) {
        parts.push(current);
        current = piece;
      } else {
        current = joined;
      }
    }
  }
  if (current !== '') parts.push(current);
  return parts;
}

function cutBetweenWords(sentence: string, maxChars: number): string[] {
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > maxChars) {
    const space = rest.lastIndexOf(' ', maxChars);
    // Text without spaces (CJK, a long URL): cut at the limit, never inside a surrogate pair.
    let cut = space > maxChars / 2 ? space : maxChars;
    if (cut === maxChars && /[\uDC00-\uDFFF]/.test(rest.charAt(cut))) cut -= 1;
    parts.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== '') parts.push(rest);
  return parts;
}
