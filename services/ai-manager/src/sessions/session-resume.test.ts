import { describe, expect, it } from 'vitest';
import { interruptedToolResult, needsApology, resumedHistory, type StoredMessage } from './session-resume.ts';

describe('needsApology', () => {
  const system = { role: 'system' };
  it('apologises when the caller\'s last words got no stored answer', () => {
    expect(needsApology([system, { role: 'assistant' }, { role: 'user' }], false)).toBe(true);
    expect(needsApology([system, { role: 'user' }, { role: 'notification' }], false)).toBe(true);
  });

  it('apologises when the old pipeline was speaking, whatever was stored', () => {
    expect(needsApology([system, { role: 'user' }, { role: 'assistant' }], true)).toBe(true);
  });

  it('says nothing when the last answer was stored and nothing was being said', () => {
    expect(needsApology([system, { role: 'assistant' }, { role: 'user' }, { role: 'assistant' }], false)).toBe(false);
    expect(needsApology([system], false)).toBe(false);
  });

  it('does not take tool calls and their results for an answer to the caller', () => {
    const history = resumedHistory([
      stored('user', 'book a table for two at eight'),
      stored('assistant', '', { tool_calls: [toolCall('call-1', 'book_table')] }),
      stored('tool', '{"booked":true}', { tool_call_id: 'call-1' }),
    ]);
    expect(needsApology(history, false)).toBe(true);
    expect(needsApology([...history, { role: 'assistant', content: 'Booked for eight.' }], false)).toBe(false);
  });
});

function toolCall(id: string, name: string, args = '{}') {
  return { id, type: 'function' as const, function: { name, arguments: args } };
}

function stored(role: string, content: string, fields: Partial<StoredMessage> = {}): StoredMessage {
  return { role, content, tool_calls: [], tool_call_id: '', ...fields };
}

describe('resumedHistory', () => {
  it('carries the tool calls with their results, right after the call, even when the caller spoke before a result was stored', () => {
    const booking = toolCall('call-1', 'book_table', '{"people":2}');
    const variables = toolCall('call-2', 'set_variables', '{"name":"Ann"}');
    expect(
      resumedHistory([
        stored('system', 'You take table bookings.'),
        stored('user', 'a table for two, I am Ann'),
        stored('assistant', '', { tool_calls: [booking, variables] }),
        stored('tool', '{"booked":true}', { tool_call_id: 'call-1' }),
        stored('user', 'at eight'),
        stored('tool', '{"set":true}', { tool_call_id: 'call-2' }),
        stored('assistant', 'Booked, Ann.'),
        stored('notification', 'The session resumed.'),
      ]),
    ).toEqual([
      { role: 'system', content: 'You take table bookings.' },
      { role: 'user', content: 'a table for two, I am Ann' },
      { role: 'assistant', content: '', tool_calls: [booking, variables] },
      { role: 'tool', tool_call_id: 'call-1', content: '{"booked":true}' },
      { role: 'tool', tool_call_id: 'call-2', content: '{"set":true}' },
      { role: 'user', content: 'at eight' },
      { role: 'assistant', content: 'Booked, Ann.' },
    ]);
  });

  it('keeps the text of an assistant message that also called tools', () => {
    const lookup = toolCall('call-1', 'lookup');
    expect(resumedHistory([stored('assistant', 'Let me check.', { tool_calls: [lookup] }), stored('tool', 'free', { tool_call_id: 'call-1' })])).toEqual([
      { role: 'assistant', content: 'Let me check.', tool_calls: [lookup] },
      { role: 'tool', tool_call_id: 'call-1', content: 'free' },
    ]);
  });

  it('completes a call whose result was never stored (the crash came in between) with an unknown outcome', () => {
    const booking = toolCall('call-1', 'book_table');
    const sms = toolCall('call-2', 'send_sms');
    expect(
      resumedHistory([
        stored('user', 'book it and text me'),
        stored('assistant', '', { tool_calls: [booking, sms] }),
        stored('tool', '{"booked":true}', { tool_call_id: 'call-1' }),
      ]),
    ).toEqual([
      { role: 'user', content: 'book it and text me' },
      { role: 'assistant', content: '', tool_calls: [booking, sms] },
      { role: 'tool', tool_call_id: 'call-1', content: '{"booked":true}' },
      { role: 'tool', tool_call_id: 'call-2', content: interruptedToolResult() },
    ]);
    expect(JSON.parse(interruptedToolResult())).toMatchObject({ result: 'unknown', message: expect.stringContaining('interrupted') });
  });

  it('drops tool results whose call is not in the history, a second result of a call, and messages without text', () => {
    const lookup = toolCall('call-1', 'lookup');
    expect(
      resumedHistory([
        stored('tool', 'orphan', { tool_call_id: 'call-0' }),
        stored('tool', 'no call at all'),
        stored('user', '  '),
        stored('assistant', ''),
        stored('assistant', '', { tool_calls: [lookup] }),
        stored('tool', 'first', { tool_call_id: 'call-1' }),
        stored('tool', 'again', { tool_call_id: 'call-1' }),
        stored('assistant', 'Done.'),
      ]),
    ).toEqual([
      { role: 'assistant', content: '', tool_calls: [lookup] },
      { role: 'tool', tool_call_id: 'call-1', content: 'first' },
      { role: 'assistant', content: 'Done.' },
    ]);
  });
});
