import type { RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import { expect, it } from 'vitest';
import { lastUser, sleep, speech, streamText, useInterruptionStack } from './testing/interruption-call.ts';
import { describeModes } from './testing/stack.ts';

const greeting = 'Hello, how can I help?';
const hours = 'We open at eight on weekdays. On Saturdays we open at nine. On Sundays we are closed.';

/**
 * Interruptions that behave like a person, through the three services and the simulator, with
 * the default `turn_config.interruption`: a short "mhm" over the bot leaves it talking and is no
 * turn of the caller; a longer noise with no words pauses it, and it goes on from the sentence
 * it was cut in (a false interruption), the answer stored whole.
 */
await describeModes('backchannels and false interruptions through the simulator', (mode) => {
  const { script, vendor, callAi } = useInterruptionStack(mode, 'backchannel');

  it('talks on over "mhm" and resumes its answer after a noise without words', async () => {
    const requests: RecordedRequest[] = [];
    vendor().handle(async (request, response) => {
      requests.push(request);
      await streamText(response, lastUser(request) === '' ? greeting : lastUser(request) === 'When are you open?' ? hours : 'Sorry?');
    });
    script.splice(0, script.length, { final: 'When are you open?' }, { final: 'Mhm.' }, null);
    const { caller, stored, storedAs, bargeIns, hangUp } = await callAi();
    await storedAs('assistant', greeting);

    await caller.play(speech(0.6));
    const answerStartedAt = await caller.waitForAudio(20_000);
    await sleep(500);
    await caller.play(speech(0.25)); // "mhm": shorter than min_secs (0.5 s)
    await sleep(500);
    const noiseAt = caller.now();
    await caller.play(speech(0.8)); // a noise the recogniser finds no words in
    await storedAs('assistant', hours);

    // One long silence in what the caller heard of the answer: the pause for the noise, not the "mhm".
    const segments = caller.heardSegments.filter((segment) => segment.startMs >= answerStartedAt);
    const gaps = segments.slice(1).map((segment, index) => ({ from: segments[index]!.endMs, to: segment.startMs }));
    const pauses = gaps.filter((gap) => gap.to - gap.from >= 900);
    expect(pauses).toHaveLength(1);
    expect(pauses[0]!.from).toBeGreaterThan(noiseAt);
    // Neither was a turn: the LLM was asked twice (greeting, question), "Mhm." is not in the history.
    expect(requests).toHaveLength(2);
    expect(bargeIns()).toHaveLength(0);
    const messages = await stored();
    expect(messages.some((message) => message.content === 'Mhm.')).toBe(false);
    expect(messages.filter((message) => message.role === 'assistant').map((message) => message.content)).toEqual([greeting, hours]);
    await hangUp();
  }, 60_000);
});
