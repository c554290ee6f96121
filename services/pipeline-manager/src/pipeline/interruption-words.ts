/** What a transcript of caller speech over the bot amounts to. */
export type WordsVerdict = 'none' | 'backchannel' | 'real';

/** Lower-case words, without punctuation ("Uh-huh, okay." -> ["uh", "huh", "okay"]). */
export function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}']+/u)
    .map((word) => word.replace(/^'+|'+$/g, ''))
    .filter((word) => word !== '');
}

/**
 * Counts the words of `text` that are not backchannel words or phrases (a phrase, "uh huh",
 * counts only as a whole) and judges them: no words at all is `none`, fewer than `minWords`
 * others is `backchannel`, else `real`; with `minWords` 0 any word is `real`.
 */
export function judgeWords(text: string, backchannel: readonly string[], minWords: number): WordsVerdict {
  const words = wordsOf(text);
  if (words.length === 0) return 'none';
  if (minWords <= 0) return 'real'; // Words do not matter: any speech that lasted interrupts.
  const phrases = backchannel.map(wordsOf).filter((phrase) => phrase.length > 0);
  // Longest phrases first, so "all right" is taken whole before "right".
  phrases.sort((a, b) => b.length - a.length);
  let others = 0;
  for (let index = 0; index < words.length; ) {
    const phrase = phrases.find((candidate) => candidate.every((word, offset) => words[index + offset] === word));
    if (phrase) {
      index += phrase.length;
    } else {
      others += 1;
      index += 1;
    }
  }
  return others >= minWords ? 'real' : 'backchannel';
}
