import { describe, expect, it } from 'vitest';
import { collect, collectError } from '../testing/collect.ts';
import { createSequentialTtsSession } from './sequential-session.ts';

describe('sequential TTS session', () => {
  it('starts the next text while the current one is still streaming, and keeps push order', async () => {
    let secondStarted!: () => void;
    const secondStartedPromise = new Promise<void>((resolve) => {
      secondStarted = resolve;
    });
    const session = createSequentialTtsSession({ voiceId: '', language: '' }, async function* (text) {
      if (text === 'two') secondStarted();
      yield Int16Array.of(text.length);
      // The first text only finishes once the second has started: without lookahead this never ends.
      if (text === 'one') await secondStartedPromise;
      yield Int16Array.of(text.length * 10);
    });
    session.push('one');
    session.push('two');
    session.push('three');
    session.end();
    const events = await collect(session.events);
    expect(events.map((event) => (event.type === 'audio' ? `audio:${event.textIndex}:${event.pcm[0]}` : event.type === 'text-end' ? `end:${event.textIndex}` : `usage:${event.characters}`))).toEqual([
      'audio:0:3',
      'audio:0:30',
      'usage:3',
      'end:0',
      'audio:1:3',
      'audio:1:30',
      'usage:3',
      'end:1',
      'audio:2:5',
      'audio:2:50',
      'usage:5',
      'end:2',
    ]);
  });

  it('starts no more than one text ahead', async () => {
    const started: string[] = [];
    let releaseFirst!: () => void;
    const firstReleased = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const session = createSequentialTtsSession({ voiceId: '', language: '' }, async function* (text) {
      started.push(text);
      if (text === 'a') await firstReleased;
      yield Int16Array.of(1);
    });
    session.push('a');
    session.push('b');
    session.push('c');
    session.end();
    const events = collect(session.events);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(['a', 'b']);
    releaseFirst();
    await events;
    expect(started).toEqual(['a', 'b', 'c']);
  });

  it('fails the session with the error of the text that failed', async () => {
    const session = createSequentialTtsSession({ voiceId: '', language: '' }, async function* (text) {
      if (text === 'bad') throw new Error('vendor said no');
      yield Int16Array.of(1);
    });
    session.push('good');
    session.push('bad');
    session.end();
    expect(await collectError(session.events)).toMatchObject({ message: 'vendor said no' });
  });
});
