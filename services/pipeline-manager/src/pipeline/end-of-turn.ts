import { defaultEndOfTurnConfig, type EndOfTurnConfig } from '@avp/shared';

/** The end-of-turn settings in milliseconds, defaults filled in. */
export interface EndOfTurnSettings {
  preemptiveEnabled: boolean;
  preemptivePauseMs: number;
  completeStopMs: number;
  incompleteStopMs: number;
  /** How long sound during a pause may hold off the end of the turn, waiting for the VAD to call it speech. */
  speechOnsetHoldMs: number;
  /** Learn the caller's pauses (dynamic endpointing). */
  adaptive: boolean;
}

/**
 * Loudness (0-1, `windowVolume`) from which a frame counts as sound that may be speech: the
 * VAD's default `min_volume`, about -50 dBFS.
 */
export const soundVolume = 0.6;

export function endOfTurnSettings(config: EndOfTurnConfig = {}): EndOfTurnSettings {
  const merged = { ...defaultEndOfTurnConfig, ...config };
  const completeStopMs = merged.complete_stop_secs * 1000;
  return {
    preemptiveEnabled: merged.preemptive_enabled,
    preemptivePauseMs: merged.preemptive_pause_secs * 1000,
    completeStopMs,
    // A customer who only shortens or lengthens one wait never gets an unfinished utterance
    // ended sooner than a finished one.
    incompleteStopMs: Math.max(completeStopMs, merged.incomplete_stop_secs * 1000),
    // The VAD's default start_secs (0.2 s) plus its analysis window, batching and slack: Silero
    // was seen to take 0.4-0.55 s to call a soft word onset ("not", "but") speech, and a hold of
    // 0.4 s then answered the caller in the middle of their sentence. It only delays a turn's
    // end while there is sound on the line.
    speechOnsetHoldMs: 700,
    adaptive: merged.adaptive,
  };
}

/** Words after which an English sentence cannot end. */
const danglingWords = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'so', 'because', 'if', 'than', 'to', 'of', 'for', 'with', 'in',
  'at', 'from', 'by', 'into', 'as', 'my', 'your', 'our', 'their', 'his', 'its', 'is', 'are', 'was', 'were',
  'be', 'i', "i'm", 'we', 'want', 'would', 'could', 'should', 'some', 'any', "let's", 'about', 'basically',
  'actually',
]);

/** Hesitations: the caller is still thinking. */
const fillers = new Set(['um', 'uh', 'er', 'erm', 'hmm', 'uhm', 'umm', 'ah', 'eh', 'mm']);

const digitWords = new Set(['zero', 'oh', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']);

/**
 * Things callers dictate digit by digit, in pieces, with pauses between the pieces, and how
 * many digits make them whole (zip codes 5, PINs 4, anything else 7 or more).
 */
const dictated: [RegExp, number][] = [
  [/\b(zip|postcode|post code)\b/, 5],
  [/\bpin\b/, 4],
  [/\b(number|phone|code|account|card|digits?|extension|reference)\b/, 7],
];

/** How many digits the transcript ends with (digit words or numerals). */
function trailingDigits(words: readonly string[]): number {
  let count = 0;
  for (let index = words.length - 1; index >= 0; index--) {
    const word = words[index] as string;
    if (digitWords.has(word)) count++;
    else if (/^\d+$/.test(word)) count += word.length;
    else break;
  }
  return count;
}

/**
 * Whether a transcript reads as a finished utterance. Unfinished: it ends on a hesitation
 * ("I want to, um"), on a word no sentence ends with (an article, a preposition, a conjunction,
 * "my", "is", ...), on a comma or an ellipsis, or it is a number being dictated that is still
 * too short ("my number is four one five"; a zip code needs 5 digits, a PIN 4, others 7).
 * Anything else counts as finished; final punctuation from the provider (".", "?", "!")
 * settles it.
 */
export function looksComplete(transcript: string): boolean {
  const text = transcript.trim().toLowerCase();
  if (text === '') return false;
  if (/(\.\.\.|…|,|;|:|-)$/.test(text)) return false;
  const words = text.replace(/[^\p{L}\p{N}' ]+/gu, ' ').split(/\s+/).filter((word) => word !== '');
  const last = words.at(-1);
  if (last === undefined) return false;
  if (fillers.has(last)) return false;
  if (/[.?!]$/.test(text)) return true;
  if (danglingWords.has(last)) return false;
  const digits = trailingDigits(words);
  const expected = dictated.find(([cue]) => cue.test(text))?.[1];
  if (digits > 0 && expected !== undefined && digits < expected) return false;
  return true;
}

/**
 * How long silence must last before this transcript ends the caller's turn; `learnedMs` is what
 * the caller's own pauses this call call for (0 before any), never beyond `incompleteStopMs`.
 */
export function endOfTurnWaitMs(settings: EndOfTurnSettings, transcript: string, providerEnded: boolean, learnedMs = 0): number {
  const wait = providerEnded || looksComplete(transcript) ? settings.completeStopMs : settings.incompleteStopMs;
  return Math.max(wait, Math.min(learnedMs, settings.incompleteStopMs));
}
