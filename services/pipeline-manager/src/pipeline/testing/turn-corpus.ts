/**
 * Spoken test utterances for end-of-turn behaviour: each is said in pieces with a pause of
 * 300-700 ms between them, as callers pause in the middle of a sentence. The audio is
 * espeak-ng speech (16 kHz), trimmed to the speech and assembled with exact pauses of
 * silence; each piece's audio is cached under the OS temp dir, keyed by its text.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';

/** One utterance: the pieces in order, and the pause after each but the last (ms). */
export interface CorpusUtterance {
  pieces: string[];
  pausesMs: number[];
  /** The whole utterance as STT would write it. */
  text: string;
}

/**
 * The corpus: an honest mix. Some first pieces read as unfinished (a number being dictated,
 * "I want to", a trailing "um" or preposition); as many read as complete sentences on their own
 * ("I'd like to book a table", "Yes") and only the length of the pause tells them apart.
 */
const pieces: string[][] = [
  ['my number is four one five', 'five five five one two three four'],
  ['I want to um', 'change my appointment'],
  ['I would like to book a table', 'for four people tomorrow evening'],
  ['can you tell me', 'when the pharmacy opens on Sunday'],
  ['my zip code is nine four', 'one one zero'],
  ['yes', 'but only after three in the afternoon'],
  ['I need an appointment', 'with doctor Smith next week'],
  ['the problem is', 'that my card was charged twice'],
  ['I called yesterday', 'and nobody called me back'],
  ['my account number is two seven', 'eight eight four one'],
  ['I was wondering if', 'you have any rooms free this weekend'],
  ['can I speak to', 'someone in billing please'],
  ['I would like to cancel my order', 'the one from last Monday'],
  ['it is about my prescription', 'it ran out two days ago'],
  ['so basically', 'the internet stopped working this morning'],
  ['my name is Alice', 'Alice Johnson'],
  ['I am calling about', 'the invoice you sent last week'],
  ['could you check', 'whether my package has shipped'],
  ['we are a group of six', 'and we need a table by the window'],
  ['the reference is A B', 'seven nine two'],
  ['I think I left my wallet', 'in the waiting room this morning'],
  ['um', 'I am not sure which form I need'],
  ['I would like to pay', 'with a credit card'],
  ['tomorrow works', 'but only before noon'],
  ['my date of birth is the', 'fourth of July nineteen eighty'],
  ['I have a question about', 'the parking near the clinic'],
  ['please send it to my email', 'not to my home address'],
  ['the heating in my flat', 'has not worked since Friday'],
  ['can you move my appointment to', 'Thursday at ten'],
  ['I already paid the bill', 'but I still got a reminder'],
  ['my phone number is six five zero', 'three two one four four'],
  ['I need a taxi', 'from the station to the airport'],
];

/** Pauses spread evenly over 300-700 ms (not random: the same corpus every run). */
export const turnCorpus: CorpusUtterance[] = pieces.map((parts, index) => ({
  pieces: parts,
  pausesMs: parts.slice(1).map((_, pause) => 300 + ((index * 7 + pause * 3) % 9) * 50),
  text: parts.join(' '),
}));

const rate = 16_000;

/** espeak-ng speech of `text` at 16 kHz, trimmed to the speech (cached by text). */
export async function spokenPiece(text: string, voice = 'en-us'): Promise<Int16Array> {
  const directory = join(tmpdir(), 'avp-turn-corpus');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${createHash('sha256').update(`${voice}\n${text}`).digest('hex').slice(0, 24)}.pcm`);
  try {
    const cached = readFileSync(file);
    return new Int16Array(cached.buffer, cached.byteOffset, cached.byteLength / 2);
  } catch {
    // Not cached yet.
  }
  const audio = await resampleClip(await synthesizeWithEspeak(text, { voice, wordsPerMinute: 160 }), rate);
  const trimmed = trimSilence(audio.samples);
  writeFileSync(file, Buffer.from(trimmed.buffer, trimmed.byteOffset, trimmed.byteLength));
  return trimmed;
}

/** The utterance as one stretch of audio: its pieces with exact silences between them. */
export async function spokenUtterance(utterance: CorpusUtterance, voice?: string): Promise<Int16Array> {
  const parts = await Promise.all(utterance.pieces.map((piece) => spokenPiece(piece, voice)));
  const total = parts.reduce((sum, part) => sum + part.length, 0) + utterance.pausesMs.reduce((sum, pause) => sum + (pause * rate) / 1000, 0);
  const out = new Int16Array(total);
  let offset = 0;
  parts.forEach((part, index) => {
    out.set(part, offset);
    offset += part.length + ((utterance.pausesMs[index] ?? 0) * rate) / 1000;
  });
  return out;
}

/** Cuts the leading and trailing near-silence (RMS of 10 ms blocks under 200). */
function trimSilence(samples: Int16Array): Int16Array {
  const block = rate / 100;
  const loud = (start: number) => {
    let sum = 0;
    for (let index = start; index < Math.min(samples.length, start + block); index++) sum += (samples[index] as number) ** 2;
    return Math.sqrt(sum / block) > 200;
  };
  let first = 0;
  while (first < samples.length && !loud(first)) first += block;
  let last = samples.length - block;
  while (last > first && !loud(last)) last -= block;
  return samples.slice(first, Math.min(samples.length, last + block));
}
