import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TurnLatency } from './conversation-types.ts';
import { endOfTurnSettings, endOfTurnWaitMs, looksComplete } from './end-of-turn.ts';
import { TurnEndDetector } from './turn-end-detector.ts';

describe('looksComplete', () => {
  it.each([
    'When do you open?',
    'I would like to book an appointment',
    'Alice',
    'tuesday morning',
    'My number is four one five five five five one two three four.',
    'my number is four one five five five five one two three four',
    'my zip code is nine four one one zero',
    'I was born in 1980',
    'yes please',
    'that is all, thank you',
  ])('reads %j as finished', (text) => {
    expect(looksComplete(text)).toBe(true);
  });

  it.each([
    'my number is four one five',
    'I want to, um',
    'I want to',
    'I would like to book a table for',
    'my zip code is nine four one',
    'my account number is 42',
    'so the problem is',
    'well,',
    'I was thinking...',
    'can you check my',
    '',
  ])('reads %j as unfinished', (text) => {
    expect(looksComplete(text)).toBe(false);
  });
});

describe('endOfTurnSettings', () => {
  it('takes the defaults and never lets the unfinished wait be shorter than the finished one', () => {
    expect(endOfTurnSettings()).toEqual({ preemptiveEnabled: true, preemptivePauseMs: 200, completeStopMs: 750, incompleteStopMs: 1600, speechOnsetHoldMs: 700, adaptive: true });
    expect(endOfTurnSettings({ complete_stop_secs: 2 }).incompleteStopMs).toBe(2000);
    expect(endOfTurnSettings({ preemptive_enabled: false, preemptive_pause_secs: 0.3 })).toMatchObject({ preemptiveEnabled: false, preemptivePauseMs: 300 });
  });

  it('waits longer for an unfinished utterance unless the provider says it ended', () => {
    const settings = endOfTurnSettings();
    expect(endOfTurnWaitMs(settings, 'I want to', false)).toBe(1600);
    expect(endOfTurnWaitMs(settings, 'I want to', true)).toBe(750);
    expect(endOfTurnWaitMs(settings, 'Thanks.', false)).toBe(750);
  });
});

describe('TurnEndDetector', () => {
  let clock = 0;
  let calls: string[];
  let latencies: Partial<TurnLatency>[];

  beforeEach(() => {
    vi.useFakeTimers();
    clock = 0;
    calls = [];
    latencies = [];
  });
  afterEach(() => vi.useRealTimers());

  function detector(config = {}) {
    return new TurnEndDetector(endOfTurnSettings(config), () => clock, {
      preempt: (text) => calls.push(`preempt ${text}`),
      discardPreempted: () => calls.push('discard'),
      endTurn: (text, latency) => {
        calls.push(`end ${text}`);
        latencies.push(latency);
      },
    });
  }
  const advance = (ms: number) => {
    clock += ms;
    vi.advanceTimersByTime(ms);
  };

  it('prepares the answer after a short pause and ends a finished utterance after complete_stop_secs of silence', () => {
    const turns = detector();
    turns.speechStarted();
    advance(1000);
    turns.speechStopped(100); // The VAD heard 100 ms of silence.
    turns.final('When do you open?');
    advance(99);
    expect(calls).toEqual([]);
    advance(1);
    expect(calls).toEqual(['preempt When do you open?']);
    advance(549);
    expect(calls).toHaveLength(1);
    advance(1);
    expect(calls).toEqual(['preempt When do you open?', 'end When do you open?']);
    expect(latencies[0]).toMatchObject({ userStoppedAt: 1000, speechEndedAt: 900, sttFinalAt: 1000, turnEndAt: 1650 });
  });

  it('waits incomplete_stop_secs for an unfinished utterance, and drops the prepared answer when the caller goes on', () => {
    const turns = detector();
    turns.speechStarted();
    turns.final('my number is four one five');
    advance(500);
    turns.speechStopped(200);
    expect(calls).toEqual(['preempt my number is four one five']);
    advance(1000); // 1.2 s of silence: not yet.
    expect(calls).toHaveLength(1);
    turns.speechStarted();
    expect(calls).toEqual(['preempt my number is four one five', 'discard']);
    turns.final('five five five one two three four.');
    advance(300);
    turns.speechStopped(200);
    expect(calls.at(-1)).toBe('preempt my number is four one five five five five one two three four.');
    advance(550);
    expect(calls.at(-1)).toBe('end my number is four one five five five five one two three four.');
  });

  it('ends an unfinished utterance sooner on the provider\'s end-of-utterance signal', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('I want to, um');
    turns.speechStopped(200);
    advance(400);
    expect(calls).toEqual([]);
    turns.providerEndOfUtterance(); // 600 ms of silence: the provider's signal counts as a finished utterance.
    expect(calls).toEqual([]);
    advance(150);
    expect(calls).toEqual(['end I want to, um']);
    expect(latencies[0]?.turnEndAt).toBe(550);
  });

  it('counts the silence from a final the VAD never heard as speech, not from the previous turn', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('Hello.');
    turns.speechStopped(200);
    advance(600);
    expect(calls).toEqual(['end Hello.']);
    advance(5000);
    turns.final('um'); // Too short for the VAD: no speech start, no stop.
    advance(1000);
    expect(calls).toEqual(['end Hello.']);
    advance(600);
    expect(calls).toEqual(['end Hello.', 'end um']);
  });

  it('holds the end of the turn while there is sound the VAD has not judged yet', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('Hello.');
    turns.speechStopped(200);
    advance(500);
    turns.heard(true); // The caller goes on; the VAD needs start_secs to say so.
    advance(50);
    turns.heard(true);
    advance(100);
    expect(calls).toEqual([]);
    turns.speechStarted();
    advance(2000);
    expect(calls).toEqual([]);
  });

  it('holds it up to 0.7 s of sound (a soft word onset took Silero 0.55 s), then ends it if the VAD never calls it speech', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('I already paid the bill');
    turns.speechStopped(200);
    advance(300);
    for (let elapsed = 0; elapsed < 680; elapsed += 20) {
      turns.heard(true); // "but I still got a reminder", not yet speech for the VAD
      advance(20);
    }
    expect(calls).toEqual([]); // 0.68 s of sound: still waiting for the VAD's verdict
    for (let elapsed = 0; elapsed < 40; elapsed += 20) {
      turns.heard(true); // a noise the VAD never takes for speech
      advance(20);
    }
    expect(calls).toEqual(['end I already paid the bill']);
  });

  it('learns a pause after finished-looking words: the next finished utterance waits a little longer than it', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('I need an appointment');
    turns.speechStopped(0);
    advance(700); // the caller goes on after 0.7 s
    turns.speechStarted();
    turns.final('with doctor Smith');
    turns.speechStopped(0);
    advance(750);
    expect(calls).toEqual([]); // 0.75 s would have ended it: now it waits 0.7 + 0.15 s
    advance(100);
    expect(calls).toEqual(['end I need an appointment with doctor Smith']);
  });

  it('learns from an end that came too early (the caller went on at once), and never beyond incomplete_stop_secs', () => {
    const turns = detector({ preemptive_enabled: false });
    turns.speechStarted();
    turns.final('Tomorrow works');
    turns.speechStopped(0);
    advance(750);
    expect(calls).toEqual(['end Tomorrow works']);
    advance(300);
    turns.speechStarted(); // 1.05 s after the words: a pause the 0.75 s wait cut
    turns.final('but only before noon');
    turns.speechStopped(0);
    advance(1199);
    expect(calls).toHaveLength(1);
    advance(1);
    expect(calls.at(-1)).toBe('end but only before noon');
    // Cut again after 1.2 s, going on 0.4 s later: 1.6 s + 0.15 s, capped at incomplete_stop_secs.
    advance(400);
    turns.speechStarted();
    turns.final('please');
    turns.speechStopped(0);
    advance(1599);
    expect(calls.at(-1)).toBe('end but only before noon');
    advance(1);
    expect(calls.at(-1)).toBe('end please');
  });

  it('keeps the fixed waits with adaptive off', () => {
    const turns = detector({ preemptive_enabled: false, adaptive: false });
    turns.speechStarted();
    turns.final('I need an appointment');
    turns.speechStopped(0);
    advance(700);
    turns.speechStarted();
    turns.final('with doctor Smith');
    turns.speechStopped(0);
    advance(750);
    expect(calls).toEqual(['end I need an appointment with doctor Smith']);
  });

  it('discards the prepared answer when more text comes, and ends nothing without text', () => {
    const turns = detector();
    turns.speechStarted();
    turns.speechStopped(300);
    advance(5000);
    expect(calls).toEqual([]);
    turns.speechStarted();
    turns.final('Hello');
    turns.speechStopped(300);
    expect(calls).toEqual(['preempt Hello']);
    turns.final('there.');
    expect(calls).toEqual(['preempt Hello', 'discard', 'preempt Hello there.']);
    advance(500);
    expect(calls.at(-1)).toBe('end Hello there.');
  });

  it('takes new settings for the next decision (a team hand-over)', () => {
    const turns = detector({ adaptive: false });
    const turn = (text: string) => {
      turns.speechStarted();
      advance(1000);
      turns.speechStopped(100);
      turns.final(text);
    };
    turn('When do you open?');
    advance(650);
    expect(calls.at(-1)).toBe('end When do you open?');
    turns.configure(endOfTurnSettings({ adaptive: false, complete_stop_secs: 1.5, incomplete_stop_secs: 2 }));
    turn('Do you open on Sundays?');
    advance(650);
    expect(calls.at(-1)).toBe('preempt Do you open on Sundays?');
    advance(750);
    expect(calls.at(-1)).toBe('end Do you open on Sundays?');
  });
});
