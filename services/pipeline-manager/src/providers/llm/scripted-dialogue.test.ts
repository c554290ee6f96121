import { describe, expect, it } from 'vitest';
import { collect, collectError } from '../testing/collect.ts';
import type { LlmEvent, LlmMessage } from '../types.ts';
import { createScriptedDialogue, defaultScript, scriptFromMessages, type ScriptStep } from './scripted-dialogue.ts';

const booking: ScriptStep[] = [
  { say: 'Welcome to the clinic.' },
  { say: 'Which day suits you?' },
  { wait: 'answer', into: 'day' },
  { set: { greeting: 'Booked for ${day}' } },
  { tool: 'set_variables', arguments: { variables: { day: '${day}' } }, into: 'saved' },
  { say: '${greeting}. Anything else?' },
  { wait: 'answer' },
  { goto: 'done', if: { variable: 'last_answer', matches: '^no\\b' } },
  { say: 'Sorry, I can only book.' },
  { label: 'done' },
  { say: 'Goodbye.' },
  { end: true },
];
const tools = [
  { name: 'set_variables', description: '', parameters: {} },
  { name: 'stop_service', description: '', parameters: {} },
];

function text(events: LlmEvent[]): string {
  return events.flatMap((event) => (event.type === 'text-delta' ? [event.text] : [])).join('');
}

describe('local.scripted dialogue engine', () => {
  const engine = createScriptedDialogue({ script: booking });

  it('speaks first with the lines before the first wait', async () => {
    const events = await collect(engine.stream({ messages: [{ role: 'system', content: 'ignored' }], tools }));
    expect(text(events)).toBe('Welcome to the clinic. Which day suits you?');
    expect(events.at(-1)).toEqual({ type: 'done', finishReason: 'stop' });
  });

  it('stores the answer, calls a tool with substituted arguments, then continues after its result', async () => {
    const history: LlmMessage[] = [
      { role: 'assistant', content: 'Welcome to the clinic. Which day' }, // cut by barge-in
      { role: 'user', content: 'Monday' },
    ];
    const first = await collect(engine.stream({ messages: history, tools }));
    const call = first.find((event) => event.type === 'tool-call');
    expect(call).toMatchObject({ name: 'set_variables', arguments: '{"variables":{"day":"Monday"}}' });
    expect(first.at(-1)).toEqual({ type: 'done', finishReason: 'tool-calls' });

    history.push(
      { role: 'assistant', content: '', toolCalls: [{ id: (call as { id: string }).id, name: 'set_variables', arguments: '{}' }] },
      { role: 'tool', toolCallId: (call as { id: string }).id, name: 'set_variables', content: 'ok' },
    );
    const second = await collect(engine.stream({ messages: history, tools }));
    expect(text(second)).toBe('Booked for Monday. Anything else?');

    history.push({ role: 'assistant', content: 'Booked for Monday. Anything else?' }, { role: 'user', content: 'No thanks' });
    const third = await collect(engine.stream({ messages: history, tools }));
    expect(text(third)).toBe('Goodbye.');
    expect(third.find((event) => event.type === 'tool-call')).toMatchObject({ name: 'stop_service', arguments: '{}' });
  });

  it('takes the other branch when the answer does not match', async () => {
    const events = await collect(
      engine.stream({
        messages: [
          { role: 'user', content: 'Friday' },
          { role: 'assistant', content: '', toolCalls: [{ id: 't', name: 'set_variables', arguments: '{}' }] },
          { role: 'tool', toolCallId: 't', name: 'set_variables', content: 'ok' },
          { role: 'assistant', content: 'Booked for Friday. Anything else?' },
          { role: 'user', content: 'Yes, a massage' },
        ],
        tools,
      }),
    );
    expect(text(events)).toBe('Sorry, I can only book. Goodbye.');
  });

  it('reads the script from a system prompt and rejects an invalid one', async () => {
    const script = { script: [{ say: 'From the prompt.' }, { wait: 'answer' }] };
    const prompt = `Follow this:\n\`\`\`json\n${JSON.stringify(script)}\n\`\`\``;
    const events = await collect(createScriptedDialogue().stream({ messages: [{ role: 'system', content: prompt }] }));
    expect(text(events)).toBe('From the prompt.');
    expect(() => scriptFromMessages([{ role: 'system', content: '{"script": [{"shout": "x"}]}' }])).toThrow();
    const broken = await collectError(createScriptedDialogue().stream({ messages: [{ role: 'system', content: '{"script": [{"goto": "nowhere"}]}' }] }));
    expect(broken).toMatchObject({ category: 'bad_request', message: expect.stringContaining('unknown label "nowhere"') });
  });

  it('runs the default echo script without any configuration', async () => {
    const engineWithDefault = createScriptedDialogue({ script: defaultScript });
    const events = await collect(
      engineWithDefault.stream({
        messages: [
          { role: 'assistant', content: 'Hello!' },
          { role: 'user', content: 'Ada' },
          { role: 'assistant', content: 'Nice to meet you, Ada.' },
          { role: 'user', content: 'the sky is blue' },
        ],
      }),
    );
    expect(text(events)).toBe('You said: the sky is blue');
  });
});
