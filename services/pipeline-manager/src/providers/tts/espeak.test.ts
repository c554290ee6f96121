import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseWavHeader } from '../audio.ts';
import { collect, collectError } from '../testing/collect.ts';
import { createEspeakTts } from './espeak.ts';
import { joinAudio, synthesize } from './synthesize.ts';

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const sample of pcm) sum += sample * sample;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

describe('local TTS (espeak-ng)', () => {
  it('synthesizes sentences in order as 16 kHz PCM with per-text ends and character usage', async () => {
    const tts = createEspeakTts();
    const session = tts.open({ voiceId: '', language: 'en-US' });
    expect(session.push('Hello there.')).toBe(0);
    expect(session.push('How are you today?')).toBe(1);
    session.end();
    const events = await collect(session.events);

    const order = events.filter((event) => event.type !== 'audio').map((event) => ('textIndex' in event ? `${event.type}:${event.textIndex}` : `${event.type}:${event.characters}`));
    expect(order).toEqual(['usage:12', 'text-end:0', 'usage:18', 'text-end:1']);
    // Audio comes before the usage and end of its text.
    expect(events[0]).toMatchObject({ type: 'audio', textIndex: 0 });

    // The same text straight from espeak-ng: 22 050 Hz, so ours must be 16/22.05 of its length.
    const wav = execFileSync('espeak-ng', ['--stdout', '-v', 'en-us', 'Hello there.']);
    const header = parseWavHeader(new Uint8Array(wav))!;
    expect(header.sampleRate).toBe(22_050);
    const rawSamples = (wav.length - header.dataOffset) / 2;
    const ours = joinAudio(events.filter((event) => event.type === 'audio' && event.textIndex === 0));
    expect(ours.length).toBeGreaterThan(Math.floor((rawSamples * 16_000) / 22_050) - 4);
    expect(ours.length).toBeLessThan(Math.ceil((rawSamples * 16_000) / 22_050) + 4);
    expect(rms(ours)).toBeGreaterThan(500);
  });

  it('uses an explicit espeak voice, and reports a missing binary as an error', async () => {
    const german = joinAudio(await collect(synthesize(createEspeakTts(), { text: 'Guten Tag.', voiceId: 'de', language: '' })));
    expect(german.length).toBeGreaterThan(8_000);
    const error = await collectError(synthesize(createEspeakTts({ command: '/nonexistent/espeak-ng' }), { text: 'x', voiceId: '', language: '' }));
    expect(error).toMatchObject({ code: 'ENOENT' });
  });

  it('stops synthesizing when aborted', async () => {
    const controller = new AbortController();
    const session = createEspeakTts().open({ voiceId: '', language: 'en', signal: controller.signal });
    session.push('This is a long sentence that will not be finished because the caller interrupts it right away.');
    const reason = new Error('barge-in');
    const error = await collectError(
      (async function* () {
        for await (const event of session.events) {
          if (event.type === 'audio') controller.abort(reason);
          yield event;
        }
      })(),
    );
    expect(error).toBe(reason);
  });
});
