import type { RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { lastUser, messagesOf, sleep, speech, streamText, streamToolCall, useInterruptionStack } from './testing/interruption-call.ts';
import { describeModes } from './testing/stack.ts';

const greeting = 'Hello, how can I help?';
const hours = 'We open at eight on weekdays. On Saturdays we open at nine. On Sundays we are closed.';
const longHours =
  'Our clinic opens at eight in the morning on every weekday. On Saturdays we open at nine and close at one in the afternoon. On Sundays the clinic stays closed.';
const digit = '[The caller pressed the phone key 1]';
const booking = { id: 'call_booking', name: 'set_variables', arguments: '{"variables":{"appointment":"tuesday"}}' };

/**
 * Interruptions that behave like a person, through the three services and the simulator, with
 * the default `turn_config.interruption` (min_secs 0.5, min_words 1, echo margin 12 dB, 1 s to
 * wait for words):
 * - a short "mhm" over the bot leaves it talking and is no turn of the caller; a longer noise
 *   with no words pauses it, and it goes on from the sentence it was cut in (a false
 *   interruption), the answer stored whole;
 * - the caller's line echoes the bot back (the simulator returns what the caller hears at
 *   -20 dB, 150 ms later): loud enough for the VAD to take it for speech, it never barges in,
 *   while the caller's own voice over it does;
 * - a key pressed over an answer keeps, in the history, the part the caller heard;
 * - a tool call (a booking, held 2 s on its way to ai-manager) under way when the caller talks
 *   completes once, and the next answer is written with its result, right after the call.
 */
await describeModes('interruptions through the simulator', (mode) => {
  const { script, vendor, vad, tools, callAi } = useInterruptionStack(mode, 'interrupt', { delayToolsMs: 2000 });

  it('talks on over "mhm" and its own echo, resumes after a noise without words, and stops for the caller', async () => {
    const requests: RecordedRequest[] = [];
    vendor().handle(async (request, response) => {
      requests.push(request);
      const answers: Record<string, string> = { '': greeting, 'When are you open?': hours, 'And on holidays?': longHours, 'Stop, that is enough.': 'Of course.' };
      await streamText(response, answers[lastUser(request)] ?? 'Sorry?');
    });
    script.splice(0, script.length, { final: 'When are you open?' }, { final: 'Mhm.' }, null, { final: 'And on holidays?' }, { final: 'Stop, that is enough.' });
    const { caller, stored, storedAs, bargeIns, hangUp } = await callAi({}, { echo: { delayMs: 150, gainDb: -20 } });
    await storedAs('assistant', greeting);
    await caller.waitForSilence(5000); // (a streamed piece of it may be stored before it has played)

    await caller.play(speech(0.6));
    const answerStartedAt = await caller.waitForAudio(20_000);
    const startsBefore = vad.starts; // the question's
    await sleep(500);
    expect(vad.starts).toBeGreaterThan(startsBefore); // the echo is speech to the VAD
    await caller.play(speech(0.25)); // "mhm": shorter than min_secs
    await sleep(500);
    const noiseAt = caller.now();
    await caller.play(speech(0.8)); // a noise the recogniser finds no words in
    await storedAs('assistant', hours);

    // One long silence in what the caller heard of the answer: the pause for the noise; none
    // for the "mhm" or the echo.
    const segments = caller.heardSegments.filter((segment) => segment.startMs >= answerStartedAt);
    const gaps = segments.slice(1).map((segment, index) => ({ from: segments[index]!.endMs, to: segment.startMs }));
    const pauses = gaps.filter((gap) => gap.to - gap.from >= 900);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]!.from).toBeGreaterThan(noiseAt);
    // None was a turn: the LLM was asked twice (greeting, question), "Mhm." is not in the history.
    expect(requests).toHaveLength(2);
    expect(bargeIns()).toHaveLength(0);
    expect((await stored()).some((message) => message.content === 'Mhm.')).toBe(false);

    // The caller's own voice over the bot (and its echo) stops it at once.
    await caller.play(speech(0.6));
    await caller.waitForAudio(20_000);
    await sleep(1000);
    const interruption = caller.interrupt(speech(0.8));
    await caller.waitForSilence(5000);
    await interruption;
    expect(caller.bargeInLatenciesMs.at(-1)!).toBeLessThan(2000); // the rest of the answer takes ~8 s
    await eventually(() => bargeIns().length === 1, 'the barge-in event');
    await eventually(() => requests.length === 4, 'the answer to the interruption', 20_000);
    const history = messagesOf(requests[3]!).filter((message) => message.role !== 'system');
    const cut = history.at(-2)!;
    expect(cut.role).toBe('assistant');
    expect(longHours.startsWith(cut.content!) && cut.content!.length > 10 && cut.content!.length < longHours.length - 40).toBe(true);
    expect(history.at(-1)).toEqual({ role: 'user', content: 'Stop, that is enough.' });
    const userTurns = async () => (await stored()).filter((message) => message.role === 'user').map((message) => message.content);
    await eventually(async () => (await userTurns()).length === 3, 'the interruption to be stored');
    expect(await userTurns()).toEqual(['When are you open?', 'And on holidays?', 'Stop, that is enough.']);
    expect((await stored()).filter((message) => message.role === 'assistant').map((message) => message.content).slice(0, 2)).toEqual([greeting, hours]);
    await hangUp();
  }, 60_000);

  it('keeps the heard part on a key press, and completes a booking under way once', async () => {
    const requests: RecordedRequest[] = [];
    vendor().handle(async (request, response) => {
      requests.push(request);
      const user = lastUser(request);
      if (user === 'Book me for Tuesday.' && messagesOf(request).at(-1)!.role === 'user') {
        streamToolCall(response, 'Let me book that. ', booking);
        return;
      }
      const answers: Record<string, string> = { '': greeting, 'When are you open?': longHours, [digit]: 'You pressed one.', 'And send me a text.': 'I will.' };
      await streamText(response, answers[user] ?? 'You are booked.');
    });
    script.splice(0, script.length, { final: 'When are you open?' }, { final: 'Book me for Tuesday.' }, { final: 'And send me a text.' });
    const { caller, stored, storedAs, hangUp } = await callAi({ tool_names: ['set_variables'] });
    const toolCallsBefore = tools.calls;
    await storedAs('assistant', greeting);
    await caller.waitForSilence(5000); // (a streamed piece of it may be stored before it has played)

    // A key over the answer: the history keeps what was heard of it.
    await caller.play(speech(0.6));
    await caller.waitForAudio(20_000);
    await sleep(1500);
    await caller.sendDtmf('1');
    await eventually(() => requests.some((request) => lastUser(request) === digit), 'the LLM to get the digit', 20_000);
    const afterDigit = messagesOf(requests.find((request) => lastUser(request) === digit)!).filter((message) => message.role !== 'system');
    const heard = afterDigit.at(-2)!;
    expect(heard.role).toBe('assistant');
    expect(heard.content!.length).toBeGreaterThan(5);
    expect(longHours.startsWith(heard.content!) && heard.content!.length < longHours.length).toBe(true);
    expect(afterDigit.at(-1)).toEqual({ role: 'user', content: digit });
    await storedAs('assistant', heard.content!);
    await storedAs('assistant', 'You pressed one.');

    // A booking under way when the caller talks: it completes once, its result stays next to it.
    await caller.play(speech(0.6));
    await eventually(async () => (await stored()).some((message) => message.role === 'assistant' && message.content === 'Let me book that.'), 'the tool call', 20_000);
    await caller.play(speech(0.8));
    await eventually(() => requests.some((request) => lastUser(request) === 'And send me a text.'), 'the answer to the interruption', 20_000);
    const next = messagesOf(requests.find((request) => lastUser(request) === 'And send me a text.')!).filter((message) => message.role !== 'system');
    expect(next.slice(-4).map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'user']);
    expect(next.at(-3)!.tool_calls![0]!.id).toBe(booking.id);
    expect(next.at(-2)!.tool_call_id).toBe(booking.id);
    await storedAs('assistant', 'I will.');
    expect(tools.calls - toolCallsBefore).toBe(1);
    // The interrupted turn did not ask the LLM again after the booking.
    expect(requests.filter((request) => messagesOf(request).at(-1)!.role === 'tool')).toHaveLength(0);
    expect((await stored()).filter((message) => message.role === 'tool')).toHaveLength(1);
    await hangUp();
  }, 60_000);
});
