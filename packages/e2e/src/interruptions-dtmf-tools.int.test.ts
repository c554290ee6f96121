import type { RecordedRequest } from '@avp/pipeline-manager/vendor-fakes';
import { eventually } from '@avp/shared/testing';
import { expect, it } from 'vitest';
import { lastUser, messagesOf, sleep, speech, streamText, streamToolCall, useInterruptionStack } from './testing/interruption-call.ts';
import { describeModes } from './testing/stack.ts';

const greeting = 'Hello, how can I help?';
const hours =
  'Our clinic opens at eight in the morning on every weekday. On Saturdays we open at nine and close at one in the afternoon. On Sundays the clinic stays closed.';
const digit = '[The caller pressed the phone key 1]';
const booking = { id: 'call_booking', name: 'set_variables', arguments: '{"variables":{"appointment":"tuesday"}}' };

/**
 * Input other than speech over the bot, through the three services and the simulator: a key
 * pressed over an answer keeps, in the history, the part the caller heard; a tool call (a
 * booking, held 2 s on its way) under way when the caller talks completes once, and its
 * result is in the history the next answer is written from, right after the call.
 */
await describeModes('key presses and tool calls under way when the caller interrupts', (mode) => {
  const { script, vendor, tools, callAi } = useInterruptionStack(mode, 'dtmftools', { delayToolsMs: 2000 });

  it('keeps the heard part on a key press, and completes a booking under way once', async () => {
    const requests: RecordedRequest[] = [];
    vendor().handle(async (request, response) => {
      requests.push(request);
      const user = lastUser(request);
      if (user === 'Book me for Tuesday.' && messagesOf(request).at(-1)!.role === 'user') {
        streamToolCall(response, 'Let me book that. ', booking);
        return;
      }
      const answers: Record<string, string> = { '': greeting, 'When are you open?': hours, [digit]: 'You pressed one.', 'And send me a text.': 'I will.' };
      await streamText(response, answers[user] ?? 'You are booked.');
    });
    script.splice(0, script.length, { final: 'When are you open?' }, { final: 'Book me for Tuesday.' }, { final: 'And send me a text.' });
    const { caller, stored, storedAs, hangUp } = await callAi({ tool_names: ['set_variables'] });
    await storedAs('assistant', greeting);

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
    expect(hours.startsWith(heard.content!) && heard.content!.length < hours.length).toBe(true);
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
    expect(tools.calls).toBe(1);
    // The interrupted turn did not ask the LLM again after the booking.
    expect(requests.filter((request) => messagesOf(request).at(-1)!.role === 'tool')).toHaveLength(0);
    expect((await stored()).filter((message) => message.role === 'tool')).toHaveLength(1);
    await hangUp();
  }, 60_000);
});
