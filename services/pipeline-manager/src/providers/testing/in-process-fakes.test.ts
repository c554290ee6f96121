import { describe, expect, it } from 'vitest';
import { joinAudio } from '../tts/synthesize.ts';
import { collect } from './collect.ts';
import { createToneTts, FakeSttProvider } from './in-process-fakes.ts';

describe('in-process fakes for pipeline tests', () => {
  it('FakeSttProvider hands the test each session to drive', async () => {
    const stt = new FakeSttProvider();
    const session = await stt.start({ language: 'en-US', sampleRate: 16_000 });
    session.write(new Int16Array(16_000));
    stt.current!.say('book a table');
    await session.finish();
    expect(await collect(session.events)).toEqual([
      { type: 'interim', text: 'book', language: 'en-US' },
      { type: 'final', text: 'book a table', language: 'en-US', confidence: 0.99 },
      { type: 'endpoint' },
      { type: 'usage', audioSeconds: 1 },
    ]);
    stt.failWith = new Error('refused');
    await expect(stt.start({ language: '', sampleRate: 16_000 })).rejects.toThrow('refused');
  });

  it('createToneTts speaks msPerCharacter of audio per character, sentence by sentence', async () => {
    const tts = createToneTts({ msPerCharacter: 10 });
    const session = tts.open({ voiceId: '', language: '' });
    session.push('Hello.'); // 6 characters: 60 ms = 960 samples
    session.push('Hi.');
    session.end();
    const events = await collect(session.events);
    expect(joinAudio(events.filter((event) => event.type === 'audio' && event.textIndex === 0)).length).toBe(960);
    expect(joinAudio(events.filter((event) => event.type === 'audio' && event.textIndex === 1)).length).toBe(480);
    expect(events.filter((event) => event.type === 'text-end')).toHaveLength(2);
    expect(tts.texts).toEqual(['Hello.', 'Hi.']);
  });
});
