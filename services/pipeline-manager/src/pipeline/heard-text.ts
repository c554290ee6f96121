/**
 * The part of a sentence a caller heard when its audio was cut after `fraction` (0-1) of
 * it: whole words only, by the share of characters, which follows speech time closely
 * enough for a history ("I can book you for Tuesday at" rather than the whole sentence).
 */
export function heardPart(sentence: string, fraction: number): string {
  if (fraction >= 1) return sentence;
  if (fraction <= 0) return '';
  const limit = Math.floor(sentence.length * fraction);
  const words = sentence.split(/(\s+)/);
  let heard = '';
  for (const word of words) {
    if ((heard + word).length > limit) break;
    heard += word;
  }
  return heard.trim();
}
