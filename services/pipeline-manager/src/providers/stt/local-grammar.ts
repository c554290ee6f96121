import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { EventChannel } from '../event-channel.ts';
import { ProviderError } from '../provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttStartOptions } from '../types.ts';

/** The engine's name in usage events and errors. */
export const localGrammarSttName = 'local.pocketsphinx';

/** Debian's `pocketsphinx` binary and `pocketsphinx-en-us` model. */
export const defaultPocketsphinxCommand = 'pocketsphinx_continuous';
export const defaultPocketsphinxModelDir = '/usr/share/pocketsphinx/model/en-us';

/** Where warnings go (a pino logger fits). */
export interface WarningLogger {
  warn(context: Record<string, unknown>, message: string): void;
}

const consoleLogger: WarningLogger = {
  warn: (context, message) => console.warn(`[${localGrammarSttName}] ${message}`, context),
};

export interface LocalGrammarSttOptions {
  /** `pocketsphinx_continuous` binary (name on PATH or path); env `POCKETSPHINX_BIN`. */
  command?: string;
  /**
   * Model directory holding `en-us/` (acoustic model), `cmudict-en-us.dict` and
   * `en-us.lm.bin`; env `POCKETSPHINX_MODEL_DIR`.
   */
  modelDir?: string;
  /**
   * What the caller is expected to say. Each phrase is plain words; `<digits>` stands for
   * one or more spoken digits, `<digit>` for exactly one; digits written as numerals are
   * spoken digit by digit. Without phrases the full language model is used (poor accuracy).
   */
  phrases?: readonly string[];
  /** Quiet (ms) that ends an utterance (default 600). */
  silenceMs?: number;
  /** Loud audio (ms) that starts an utterance (default 100). */
  minSpeechMs?: number;
  /** An utterance is cut and recognised at this length (default 15 000 ms). */
  maxUtteranceMs?: number;
  /** Smallest RMS (16-bit) counted as speech; the bar rises with the noise floor (default 300). */
  speechRms?: number;
  /** Kill a recognition that takes longer (default 10 000 ms with phrases, 60 000 ms without). */
  timeoutMs?: number;
  logger?: WarningLogger;
}

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

/** The path of a command: as given when it has a slash, else the first executable on PATH. */
async function resolveCommand(command: string): Promise<string | undefined> {
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

async function readable(path: string): Promise<boolean> {
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
const decoderArgs = ['-time', 'yes', '-remove_noise', 'no', '-vad_postspeech', '100'];
const grammarBeams = ['-beam', '1e-80', '-pbeam', '1e-80', '-wbeam', '1e-60'];

/** Zeros before the audio, between its two copies and after it (seconds). */
const LEAD_SECONDS = 0.3;
const GAP_SECONDS = 1.5;
const TAIL_SECONDS = 0.3;

/**
 * Offline speech recognition with a phrase grammar: CMU PocketSphinx (`pocketsphinx_continuous`
 * from the Debian packages `pocketsphinx` and `pocketsphinx-en-us`), English only. Not
 * streaming: the session finds utterances itself (energy: speech, then `silenceMs` of quiet),
 * and recognises each one in a child process once it ended, giving one `final` and one
 * `endpoint` per recognised utterance (nothing when nothing matched). With phrases, the
 * recogniser can only answer one of them (or nothing); anything else said comes out as the
 * nearest phrase. Each utterance is decoded twice in one run (the audio, a pause, the audio
 * again) and the second result is taken: pocketsphinx adapts its cepstral mean during the first
 * copy, which is what makes telephone-band and synthetic audio recognisable at all.
 */
export function createLocalGrammarStt(options: LocalGrammarSttOptions = {}): SttProvider {
  const command = options.command || defaultPocketsphinxCommand;
  const modelDir = options.modelDir || defaultPocketsphinxModelDir;
  const logger = options.logger ?? consoleLogger;
  const name = localGrammarSttName;
  return {
    name,
    async start(start: SttStartOptions): Promise<SttSession> {
      start.signal?.throwIfAborted();
      if (start.language && !/^en\b/i.test(start.language)) {
        throw new ProviderError('bad_request', `${name}: only English is available offline, not "${start.language}"`, { provider: name });
      }
      if (start.sampleRate !== 16_000) {
        throw new ProviderError('bad_request', `${name}: audio must be 16 kHz, not ${start.sampleRate} Hz`, { provider: name });
      }
      const binary = await resolveCommand(command);
      if (!binary) {
        throw new ProviderError('bad_request', `${name}: "${command}" not found (install the Debian packages pocketsphinx and pocketsphinx-en-us, or set POCKETSPHINX_BIN)`, {
          provider: name,
        });
      }
      const acousticModel = join(modelDir, 'en-us');
      const dictionaryPath = join(modelDir, 'cmudict-en-us.dict');
      const languageModel = join(modelDir, 'en-us.lm.bin');
      for (const path of [join(acousticModel, 'mdef'), dictionaryPath]) {
        if (!(await readable(path))) {
          throw new ProviderError('bad_request', `${name}: model file ${path} missing (install pocketsphinx-en-us, or set POCKETSPHINX_MODEL_DIR)`, { provider: name });
        }
      }

      const phrases = options.phrases ?? [];
      let grammar: string | undefined;
      if (phrases.length > 0) {
        const built = buildGrammar(phrases, await loadDictionary(dictionaryPath));
        for (const { phrase, unknownWords } of built.rejected) {
          logger.warn({ phrase, unknownWords }, `phrase left out of the grammar: the dictionary does not know ${unknownWords.map((word) => `"${word}"`).join(', ')}`);
        }
        grammar = built.grammar;
      }
      if (!grammar) {
        if (!(await readable(languageModel))) {
          throw new ProviderError('bad_request', `${name}: no usable phrases and no language model at ${languageModel}`, { provider: name });
        }
        logger.warn(
          { phrases: phrases.length },
          phrases.length > 0
            ? 'no phrase is usable: falling back to the open-vocabulary language model (poor accuracy)'
            : 'no stt_phrases given: using the open-vocabulary language model (poor accuracy)',
        );
      }
      // The grammar and each utterance's audio are files in a directory of the session's own
      // (pocketsphinx cannot read a Node pipe as -infile), removed when the session ends.
      const directory = await mkdtemp(join(tmpdir(), 'avp-pocketsphinx-'));
      const grammarPath = join(directory, 'phrases.gram');
      if (grammar) await writeFile(grammarPath, grammar);
      const searchArgs = grammar ? ['-jsgf', grammarPath, ...grammarBeams] : ['-lm', languageModel];
      const baseArgs = ['-hmm', acousticModel, '-dict', dictionaryPath, ...searchArgs, ...decoderArgs];
      let utteranceCounter = 0;

      const channel = new EventChannel<SttEvent>();
      const children = new Set<ChildProcess>();
      let closed = false;
      let samplesWritten = 0;
      let usageReported = false;
      const reportUsage = () => {
        if (usageReported) return;
        usageReported = true;
        channel.push({ type: 'usage', audioSeconds: samplesWritten / start.sampleRate });
      };
      const shutdown = () => {
        closed = true;
        for (const child of children) child.kill('SIGKILL');
        children.clear();
        void rm(directory, { recursive: true, force: true });
      };

      const timeoutMs = options.timeoutMs ?? (grammar ? 10_000 : 60_000);
      const recognise = async (audio: Int16Array): Promise<string> => {
        const rate = start.sampleRate;
        const lead = Math.round(LEAD_SECONDS * rate);
        const gap = Math.round(GAP_SECONDS * rate);
        const input = new Int16Array(lead + audio.length + gap + audio.length + Math.round(TAIL_SECONDS * rate));
        input.set(audio, lead);
        const secondStart = lead + audio.length + gap;
        input.set(audio, secondStart);
        // Raw 16-bit little-endian PCM: pocketsphinx_continuous reads -infile as such.
        const audioPath = join(directory, `utterance-${++utteranceCounter}.raw`);
        await writeFile(audioPath, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
        if (closed) return '';
        try {
          // Words starting after the middle of the gap are the second copy's.
          return await decode(audioPath, (lead + audio.length + gap / 2) / rate);
        } finally {
          await rm(audioPath, { force: true });
        }
      };

      const decode = (audioPath: string, fromSeconds: number): Promise<string> =>
        new Promise((resolve, reject) => {
          const child = spawn(binary, ['-infile', audioPath, ...baseArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
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
            if (closed) return resolve('');
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

      // Recognitions run one after another, so finals come in the order spoken.
      let queue = Promise.resolve();
      const enqueue = (audio: Int16Array) => {
        queue = queue.then(async () => {
          if (closed) return;
          try {
            const text = await recognise(audio);
            if (closed) return;
            if (text) {
              channel.push({ type: 'final', text, language: start.language || 'en-US' });
              channel.push({ type: 'endpoint' });
            }
          } catch (error) {
            if (!closed) channel.push({ type: 'error', error: error as Error });
          }
        });
      };

      // ---- energy endpointing over 20 ms frames -------------------------------------------
      const frameSamples = Math.round(start.sampleRate * 0.02);
      const frameMs = (frameSamples * 1000) / start.sampleRate;
      const speechRms = options.speechRms ?? 300;
      const startFrames = Math.max(1, Math.round((options.minSpeechMs ?? 100) / frameMs));
      const endFrames = Math.max(1, Math.round((options.silenceMs ?? 600) / frameMs));
      const maxFrames = Math.round((options.maxUtteranceMs ?? 15_000) / frameMs);
      const preRollFrames = Math.round(300 / frameMs);
      let pending = new Int16Array(0);
      let noiseFloor = 0;
      let preRoll: Int16Array[] = [];
      let utterance: Int16Array[] | undefined;
      let loudRun = 0;
      let quietRun = 0;

      const endUtterance = () => {
        if (!utterance) return;
        const frames = utterance;
        utterance = undefined;
        quietRun = 0;
        loudRun = 0;
        const audio = new Int16Array(frames.reduce((sum, frame) => sum + frame.length, 0));
        let offset = 0;
        for (const frame of frames) {
          audio.set(frame, offset);
          offset += frame.length;
        }
        enqueue(audio);
      };

      const onFrame = (frame: Int16Array) => {
        let sum = 0;
        for (const sample of frame) sum += sample * sample;
        const rms = Math.sqrt(sum / frame.length);
        const loud = rms > Math.max(speechRms, noiseFloor * 3);
        if (!utterance) {
          preRoll.push(frame);
          if (preRoll.length > preRollFrames) preRoll.shift();
          if (loud) {
            loudRun++;
            if (loudRun >= startFrames) {
              utterance = preRoll;
              preRoll = [];
              quietRun = 0;
            }
          } else {
            loudRun = 0;
            noiseFloor = noiseFloor === 0 ? rms : noiseFloor * 0.95 + rms * 0.05;
          }
          return;
        }
        utterance.push(frame);
        quietRun = loud ? 0 : quietRun + 1;
        if (quietRun >= endFrames || utterance.length >= maxFrames) endUtterance();
      };

      const onAbort = () => {
        reportUsage();
        shutdown();
        channel.fail(start.signal?.reason);
      };
      start.signal?.addEventListener('abort', onAbort, { once: true });

      return {
        write(pcm) {
          if (closed) return;
          samplesWritten += pcm.length;
          let data = pcm;
          if (pending.length > 0) {
            data = new Int16Array(pending.length + pcm.length);
            data.set(pending);
            data.set(pcm, pending.length);
          }
          let offset = 0;
          for (; offset + frameSamples <= data.length; offset += frameSamples) onFrame(data.slice(offset, offset + frameSamples));
          pending = data.slice(offset);
        },
        async finish() {
          if (closed) return;
          // What the caller was saying when the call ended is recognised too.
          endUtterance();
          await queue;
          start.signal?.removeEventListener('abort', onAbort);
          reportUsage();
          shutdown();
          channel.close();
        },
        close() {
          if (closed) return;
          start.signal?.removeEventListener('abort', onAbort);
          reportUsage();
          shutdown();
          channel.close();
        },
        events: channel,
      };
    },
  };
}
