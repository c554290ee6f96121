import { spawn } from 'node:child_process';
import { linearResamplerFactory, Pcm16Decoder, parseWavHeader, type PcmResampler, type ResamplerFactory, type WavInfo } from '../audio.ts';
import { PIPELINE_SAMPLE_RATE, type TtsProvider } from '../types.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

export interface EspeakOptions {
  /** Path of the espeak-ng binary (default `espeak-ng` on PATH). */
  command?: string;
  /** Words per minute (espeak-ng default 175). */
  wordsPerMinute?: number;
  resample?: ResamplerFactory;
}

/** espeak-ng voice for a BCP-47 tag: `en-US` -> `en-us`, '' -> `en`. */
export function espeakVoiceFor(language: string): string {
  return language ? language.toLowerCase() : 'en';
}

/**
 * The `local` TTS: espeak-ng, a formant synthesizer run as a local process. Robotic but
 * instant, offline, and free; meant for tests, demos and development. `voiceId` is an
 * espeak-ng voice name (`en-us`, `de`, `en+f3`); empty means the one for the language.
 */
export function createEspeakTts(options: EspeakOptions = {}): TtsProvider {
  const command = options.command ?? 'espeak-ng';
  const makeResampler = options.resample ?? linearResamplerFactory;
  return {
    name: 'local',
    open(session) {
      const voice = session.voiceId || espeakVoiceFor(session.language);
      return createSequentialTtsSession(session, (text, signal) => runEspeak(command, voice, options.wordsPerMinute, text, signal, makeResampler));
    },
  };
}

async function* runEspeak(
  command: string,
  voice: string,
  wordsPerMinute: number | undefined,
  text: string,
  signal: AbortSignal,
  makeResampler: ResamplerFactory,
): AsyncIterable<Int16Array> {
  const args = ['--stdout', '-v', voice, ...(wordsPerMinute ? ['-s', String(wordsPerMinute)] : [])];
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => {});
  // Text goes on stdin so nothing in it is read as an option.
  child.stdin.end(text);
  let header: WavInfo | undefined;
  let buffered = new Uint8Array(0);
  const decoder = new Pcm16Decoder();
  let resampler: PcmResampler | undefined;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let bytes: Uint8Array = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      if (!header) {
        const joined = new Uint8Array(buffered.length + bytes.length);
        joined.set(buffered);
        joined.set(bytes, buffered.length);
        header = parseWavHeader(joined);
        if (!header) {
          buffered = joined;
          continue;
        }
        if (header.channels !== 1 || header.bitsPerSample !== 16) throw new Error(`espeak-ng wrote ${header.channels} channels of ${header.bitsPerSample} bits`);
        resampler = await makeResampler(header.sampleRate, PIPELINE_SAMPLE_RATE);
        bytes = joined.subarray(header.dataOffset);
      }
      const pcm = resampler!.process(decoder.decode(bytes));
      if (pcm.length > 0) yield pcm;
    }
    const code = await exited;
    if (code !== 0) throw new Error(`espeak-ng exited with ${code}: ${stderr.trim()}`);
    if (!header) throw new Error('espeak-ng wrote no WAV header');
  } finally {
    resampler?.destroy?.();
    if (child.exitCode === null) child.kill();
  }
}
