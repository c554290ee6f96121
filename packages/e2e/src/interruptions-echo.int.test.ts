import type { RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { lastUser, messagesOf, sleep, speech, streamText, useInterruptionStack } from './testing/interruption-call.ts';
import { describeModes } from './testing/stack.ts';

const greeting = 'Hello, how can I help?';
const hours =
  'Our clinic opens at eight in the morning on every weekday. On Saturdays we open at nine and close at one in the afternoon. On Sundays and public holidays the clinic stays closed all day.';

/**
 * A caller whose line echoes the bot's voice back (the simulator returns what the caller hears
 * at -20 dB, 150 ms later): the echo is loud enough for the VAD to take it for speech, yet it
 * does not barge in; the caller's own voice over it still does, at once.
 */
await describeModes('the bot\'s own echo on the line through the simulator', (mode) => {
  const { script, vendor, vad, callAi } = useInterruptionStack(mode, 'echo');

  it('does not barge in on its own echo, and stops when the caller talks over it', async () => {
    const requests: RecordedRequest[] = [];
    vendor().handle(async (request, response) => {
      requests.push(request);
      const user = lastUser(request);
      await streamText(response, user === '' ? greeting : user === 'When are you open?' ? hours : 'Of course.');
    });
    script.splice(0, script.length, { final: 'When are you open?' }, { final: 'Stop, that is enough.' });
    const { caller, stored, storedAs, bargeIns, hangUp } = await callAi({}, { echo: { delayMs: 150, gainDb: -20 } });
    await storedAs('assistant', greeting);

    await caller.play(speech(0.6));
    await caller.waitForAudio(20_000);
    const startsBefore = vad.starts; // the question's
    await sleep(2500);
    // The echo of the answer was speech to the VAD, but the bot talks on.
    expect(vad.starts).toBeGreaterThan(startsBefore);
    expect(bargeIns()).toHaveLength(0);
    expect(caller.heardSegments.filter((segment) => segment.endMs - segment.startMs > 0).length).toBeGreaterThan(0);

    const interruption = caller.interrupt(speech(0.8));
    await caller.waitForSilence(5000);
    await interruption;
    expect(caller.bargeInLatenciesMs.at(-1)!).toBeLessThan(2000); // the rest of the answer would take ~8 s
    await eventually(() => bargeIns().length === 1, 'the barge-in event');
    await eventually(() => requests.length === 3, 'the answer to the interruption', 20_000);
    const history = messagesOf(requests[2]!).filter((message) => message.role !== 'system');
    const cut = history.at(-2)!;
    expect(cut.role).toBe('assistant');
    expect(hours.startsWith(cut.content!) && cut.content!.length > 10 && cut.content!.length < hours.length - 40).toBe(true);
    expect(history.at(-1)).toEqual({ role: 'user', content: 'Stop, that is enough.' });
    // The echo's words never became a caller turn.
    const userTurns = async () => (await stored()).filter((message) => message.role === 'user').map((message) => message.content);
    await eventually(async () => (await userTurns()).length === 2, 'the interruption to be stored');
    expect(await userTurns()).toEqual(['When are you open?', 'Stop, that is enough.']);
    await hangUp();
  }, 60_000);
});
