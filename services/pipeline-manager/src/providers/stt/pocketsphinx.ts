import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ProviderError } from '../provider-error.ts';

/** The engine's name in usage events and errors. */
export const localGrammarSttName = 'local.pocketsphinx';

/** Debian's `pocketsphinx` binary and `pocketsphinx-en-us` model. */
export const defaultPocketsphinxCommand = 'pocketsphinx_continuous';
export const defaultPocketsphinxModelDir = '/usr/share/pocketsphinx/model/en-us';

/** The path of a command: as given when it has a slash, else the first executable on PATH. */
export async function resolveCommand(command: string): Promise<string | undefined> {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

export async function readable(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Words pocketsphinx reports that are not speech. */
function isFiller(word: string): boolean {
  return word === '' || /^[<[(+]/.test(word);
}

/**
 * Decoder settings measured on espeak-ng speech (README): word times, noise removal off (it
 * eats synthetic speech), a 1 s in-utterance pause before pocketsphinx splits (our own
 * endpointing cuts sooner). With a grammar, beams wider than the defaults keep long phrases
 * from falling off it (the default beams made 3 of 10 phrases come back empty); with the
 * language model they would make decoding 5x slower.
 */
export const decoderArgs = ['-time', 'yes', '-remove_noise', 'no', '-vad_postspeech', '100'];
export const grammarBeams = ['-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-60'];

/** Zeros before the audio, between its two copies and after it (seconds). */
const LEAD_SECONDS = 0.3;
const GAP_SECONDS = 1.5;
const TAIL_SECONDS = 0.3;

/**
 * An utterance laid out for one pocketsphinx run: `LEAD_SECONDS` of zeros, the audio, a
 * `GAP_SECONDS` pause, the audio again and `TAIL_SECONDS` of zeros. Words starting after
 * `fromSeconds` (the middle of the gap) are the second copy's.
 */
export function twoCopies(audio: Int16Array, rate: number): { input: Int16Array; fromSeconds: number } {
  const lead = Math.round(LEAD_SECONDS * rate);
  const gap = Math.round(GAP_SECONDS * rate);
  const input = new Int16Array(lead + audio.length + gap + audio.length + Math.round(TAIL_SECONDS * rate));
  input.set(audio, lead);
  const secondStart = lead + audio.length + gap;
  input.set(audio, secondStart);
  return { input, fromSeconds: (lead + audio.length + gap / 2) / rate };
}

export interface PocketsphinxRun {
  /** The resolved binary, and the command as configured (for the not-found error). */
  binary: string;
  command: string;
  /** Raw 16-bit little-endian PCM file (`-infile`). */
  audioPath: string;
  /** Model, search and decoder arguments. */
  args: readonly string[];
  /** Words starting before this (seconds) are left out. */
  fromSeconds: number;
  timeoutMs: number;
  /** The session's live children: the run is in it while it lasts. */
  children: Set<ChildProcess>;
  /** Whether the session closed (a run that ends then answers nothing). */
  closed: () => boolean;
}

/** Runs `pocketsphinx_continuous` on one file and answers the words it recognised from `fromSeconds` on. */
export function runPocketsphinx({ binary, command, audioPath, args, fromSeconds, timeoutMs, children, closed }: PocketsphinxRun): Promise<string> {
  const name = localGrammarSttName;
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-infile', audioPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    const errors: string[] = [];
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (stderrTail + chunk).split('\n');
      stderrTail = lines.pop() ?? '';
      for (const line of lines) {
        if (/^(ERROR|FATAL)/.test(line) && !line.includes('does not match the grammar') && errors.length < 5) errors.push(line.trim());
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ProviderError('timeout', `${name}: recognition took over ${timeoutMs} ms`, { provider: name }));
    }, timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      children.delete(child);
      reject(
        error.code === 'ENOENT'
          ? new ProviderError('bad_request', `${name}: "${command}" not found (install pocketsphinx)`, { provider: name, cause: error })
          : new ProviderError('server', `${name}: ${error.message}`, { provider: name, cause: error, retryable: false }),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (closed()) return resolve('');
      if (code !== 0) {
        reject(new ProviderError('server', `${name}: pocketsphinx failed (${signal ?? `exit ${code}`}) ${errors.join(' | ')}`.trim(), { provider: name, retryable: false }));
        return;
      }
      // With `-time yes` every word comes on a line `word start end confidence`;
      // the words of the second copy are the answer.
      const words: string[] = [];
      for (const line of stdout.split('\n')) {
        const match = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) \S+$/.exec(line.trim());
        if (!match || Number(match[2]) < fromSeconds) continue;
        const word = match[1]!.replace(/\(\d+\)$/, '');
        if (!isFiller(word)) words.push(word);
      }
      resolve(words.join(' '));
    });
  });
}
