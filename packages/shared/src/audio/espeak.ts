import { spawn } from 'node:child_process';
import { parseWav, type PcmAudio } from './wav.ts';

export interface EspeakOptions {
  /** espeak-ng voice (`en-us`, `de`, `en-us+f3`); default from `language`, else `en-us`. */
  voice?: string;
  /** BCP-47 language, used when no voice is given (`en-US` -> `en-us`). */
  language?: string;
  /** Words per minute (espeak-ng's default is 175). */
  wordsPerMinute?: number;
  /** Kill espeak-ng after this long (default 10 s). */
  timeoutMs?: number;
}

/** The espeak-ng voice for a BCP-47 tag: lower-cased; empty means en-us. */
export function espeakVoiceFor(language: string | undefined): string {
  return language && language.trim() !== '' ? language.trim().toLowerCase() : 'en-us';
}

/**
 * Speaks text with the offline espeak-ng synthesizer (Debian package `espeak-ng`) and returns
 * its audio (22050 Hz mono). The text goes on stdin, so no shell quoting is involved.
 */
export function synthesizeWithEspeak(text: string, options: EspeakOptions = {}): Promise<PcmAudio> {
  const voice = options.voice && options.voice !== '' ? options.voice : espeakVoiceFor(options.language);
  const args = ['--stdout', '-v', voice, '-s', String(options.wordsPerMinute ?? 175)];
  return new Promise((resolve, reject) => {
    const child = spawn('espeak-ng', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error('espeak-ng is not installed (Debian package espeak-ng)') : error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`espeak-ng failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
        return;
      }
      try {
        resolve(parseWav(Buffer.concat(chunks)));
      } catch (error) {
        reject(error as Error);
      }
    });
    child.stdin.end(text);
  });
}
