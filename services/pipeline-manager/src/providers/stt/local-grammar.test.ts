import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { resampleClip, synthesizeWithEspeak } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../provider-error.ts';
import { collect } from '../testing/collect.ts';
import type { SttEvent } from '../types.ts';
import { buildGrammar, createLocalGrammarStt, phraseTokens } from './local-grammar.ts';

const phrases = [
  'yes',
  'no',
  'Ada',
  'transfer me to a person',
  'book a table for 2 people tomorrow',
  'my order number is <digits>',
  'goodbye',
  'what are your opening hours',
];

/** espeak-ng speech at 16 kHz with a second of quiet after it (the end of the utterance). */
async function speech(text: string, voice = 'en-us'): Promise<Int16Array> {
  const audio = await resampleClip(await synthesizeWithEspeak(text, { voice }), 16_000);
  const samples = new Int16Array(audio.samples.length + 16_000);
  samples.set(audio.samples);
  return samples;
}

/** Writes audio in 20 ms frames, as the pipeline does. */
function writeFrames(session: { write(pcm: Int16Array): void }, samples: Int16Array): void {
  for (let offset = 0; offset < samples.length; offset += 320) session.write(samples.slice(offset, offset + 320));
}

function pocketsphinxChildren(): string[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid), '-f', 'pocketsphinx'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function tempDirectories(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('avp-pocketsphinx-'));
}

describe('phrase grammar', () => {
  it('normalises phrases and leaves out those with words the dictionary lacks', () => {
    expect(phraseTokens('Book a table for 2, tomorrow!')).toEqual(['book', 'a', 'table', 'for', 'two', 'tomorrow']);
    expect(phraseTokens("I don't know <digits>")).toEqual(['i', "don't", 'know', '<digits>']);
    const result = buildGrammar(['yes please', 'my pin is <digit> <digit>', 'zorblax now', 'Yes, please.'], new Set(['yes', 'please', 'my', 'pin', 'is', 'now']));
    expect(result.accepted).toEqual(['yes please', 'my pin is <digit> <digit>']);
    expect(result.rejected).toEqual([{ phrase: 'zorblax now', unknownWords: ['zorblax'] }]);
    expect(result.grammar).toContain('public <phrase> = yes please | my pin is <digit> <digit>;');
    expect(buildGrammar(['zorblax'], new Set()).grammar).toBeUndefined();
  });
});

describe('local STT (pocketsphinx with a phrase grammar)', () => {
  it('recognises espeak-ng speech exactly, one final and endpoint per utterance, with usage', async () => {
    const warnings: string[] = [];
    const stt = createLocalGrammarStt({ phrases: [...phrases, 'zorblax please'], logger: { warn: (_context, message) => warnings.push(message) } });
    const session = await stt.start({ language: 'en-US', sampleRate: 16_000 });
    const spoken = ['ada', 'transfer me to a person', 'book a table for two people tomorrow', 'my order number is four two seven'];
    let samples = 0;
    for (const text of spoken) {
      const audio = await speech(text, text.includes('four') ? 'en-us+f3' : 'en-us');
      samples += audio.length;
      writeFrames(session, audio);
    }
    await session.finish();
    const events = await collect(session.events);
    const finals = events.filter((event): event is Extract<SttEvent, { type: 'final' }> => event.type === 'final').map((event) => event.text);
    expect(finals).toEqual(spoken);
    expect(events.filter((event) => event.type === 'endpoint')).toHaveLength(spoken.length);
    expect(events.at(-1)).toEqual({ type: 'usage', audioSeconds: samples / 16_000 });
    expect(warnings.join('\n')).toMatch(/zorblax/);
  }, 20_000);

  it('reports a missing binary as a provider error', async () => {
    const stt = createLocalGrammarStt({ command: '/nonexistent/pocketsphinx_continuous', phrases });
    const error = await stt.start({ language: 'en-US', sampleRate: 16_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ category: 'bad_request', retryable: false });
    expect((error as Error).message).toMatch(/pocketsphinx/);
  });

  it('leaves no child process or temp file behind when closed mid-recognition', async () => {
    const before = tempDirectories();
    const stt = createLocalGrammarStt({ phrases });
    const session = await stt.start({ language: '', sampleRate: 16_000 });
    writeFrames(session, await speech('book a table for two people tomorrow'));
    // The utterance ended: its recognition starts now.
    for (let waited = 0; pocketsphinxChildren().length === 0 && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(pocketsphinxChildren().length).toBeGreaterThan(0);
    session.close();
    const events = await collect(session.events);
    expect(events.filter((event) => event.type === 'final')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pocketsphinxChildren()).toEqual([]);
    expect(tempDirectories().filter((name) => !before.includes(name))).toEqual([]);
  });
});
