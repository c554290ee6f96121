import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventChannel } from '../event-channel.ts';
import { ProviderError } from '../provider-error.ts';
import type { SttEvent, SttProvider, SttSession, SttStartOptions } from '../types.ts';
import { buildGrammar, loadDictionary } from './phrase-grammar.ts';
import {
  decoderArgs,
  defaultPocketsphinxCommand,
  defaultPocketsphinxModelDir,
  grammarBeams,
  localGrammarSttName,
  readable,
  resolveCommand,
  runPocketsphinx,
  twoCopies,
} from './pocketsphinx.ts';

export { buildGrammar, loadDictionary, phraseTokens, type GrammarResult } from './phrase-grammar.ts';
export { defaultPocketsphinxCommand, defaultPocketsphinxModelDir, localGrammarSttName } from './pocketsphinx.ts';

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

/**
 * Offline speech recognition with a phrase grammar: CMU PocketSphinx (`pocketsphinx_continuous`
 * from the Debian packages `pocketsphinx` and `pocketsphinx-en-us`), English only. Not
 * streaming: the session finds utterances itself (energy: speech, then `silenceMs` of quiet),
 * and recognises each one in a child process once it ended, giving one `final` and one
 * `endpoint` per recognised utterance (an empty `final` alone when nothing matched). With phrases, the
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
        const { input, fromSeconds } = twoCopies(audio, start.sampleRate);
        // Raw 16-bit little-endian PCM: pocketsphinx_continuous reads -infile as such.
        const audioPath = join(directory, `utterance-${++utteranceCounter}.raw`);
        await writeFile(audioPath, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
        if (closed) return '';
        try {
          return await runPocketsphinx({ binary, command, audioPath, args: baseArgs, fromSeconds, timeoutMs, children, closed: () => closed });
        } finally {
          await rm(audioPath, { force: true });
        }
      };

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
            } else {
              // Sound it knows no words for (a cough, a door): an empty final says so at once,
              // as streaming recognisers' do, so a bot paused for it goes on without waiting.
              channel.push({ type: 'final', text: '', language: start.language || 'en-US' });
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
