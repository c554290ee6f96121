import { describe, expect, it } from 'vitest';
import { pipelineStartSchema, toLlmHistory } from '../sessions/pipeline-start.ts';
import type { LlmMessage } from '../providers/types.ts';
import { Conversation, type ConversationEvent } from './conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words } from './testing/fakes.ts';
import { runningConversations, until } from './testing/conversation-harness.ts';

const running = runningConversations();

/** A conversation resumed by crash resumption: the stored history, no greeting. */
function resumed(
  messages: LlmMessage[] = [
    { role: 'system', content: 'You take table bookings.' },
    { role: 'assistant', content: 'Hello, how can I help?' },
    { role: 'user', content: 'i want to book a table' },
  ],
) {
  const transport = new FakeTransport();
  const stt = new FakeStt();
  const llm = new FakeLlm([words('You said a table for two. Anything else?')]);
  const tts = new FakeTts();
  const events: ConversationEvent[] = [];
  const conversation = new Conversation({
    transport,
    vad: new FakeVad(),
    stt,
    llm,
    tts,
    language: 'en-US',
    voiceId: 'v1',
    messages,
    tools: [],
    greeting: false,
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => events.push(event),
  });
  running.push({ conversation, transport });
  const answers = () => events.filter((event): event is Extract<ConversationEvent, { type: 'assistant_message' }> => event.type === 'assistant_message');
  return { conversation, transport, stt, llm, tts, answers };
}

describe('Conversation resumed after a crash', () => {
  it('says the apology as a turn of its own, stores it once played, and answers the caller from the carried history', async () => {
    const { conversation, transport, stt, llm, tts, answers } = resumed();
    await conversation.start();
    expect(conversation.speaking).toBe(false);
    conversation.say('Sorry, I missed that. Could you say it again?');
    expect(conversation.speaking).toBe(true);
    await until(() => answers().length === 1, 'the apology to be reported');
    expect(answers()[0]).toMatchObject({ text: 'Sorry, I missed that. Could you say it again?', interrupted: false, toolCalls: [] });
    expect(tts.texts).toEqual(['Sorry, I missed that. Could you say it again?']);
    expect(llm.requests).toHaveLength(0); // Not the LLM's words, and no greeting.
    await until(() => !conversation.speaking, 'the apology to have played');

    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text: 'a table for two' });
    transport.hear(6, 0);
    await until(() => answers().length === 2, 'the answer');
    expect(llm.requests[0]!.map((message) => message.content)).toEqual([
      'You take table bookings.',
      'Hello, how can I help?',
      'i want to book a table',
      'Sorry, I missed that. Could you say it again?',
      'a table for two',
    ]);
  });

  it('takes the tool calls and results of the start\'s history into its first LLM request, as it keeps its own tool rounds', async () => {
    const start = pipelineStartSchema.parse({
      aicall_id: crypto.randomUUID(),
      customer_id: crypto.randomUUID(),
      call_id: crypto.randomUUID(),
      ai: { engine_model: 'fake.model' },
      greeting: false,
      messages: [
        { role: 'system', content: 'You take table bookings.' },
        { role: 'user', content: 'a table for two, I am Ann' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call-1', type: 'function', function: { name: 'book_table', arguments: '{"people":2}' } },
            { id: 'call-2', type: 'function', function: { name: 'set_variables', arguments: '{"name":"Ann"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call-1', content: '{"booked":true}' },
        { role: 'tool', tool_call_id: 'call-2', content: '{"result":"unknown"}' },
        { role: 'tool', tool_call_id: 'call-9', content: 'a result of no call here' },
        { role: 'assistant', content: 'Booked, Ann.' },
      ],
    });
    const { conversation, transport, stt, llm, answers } = resumed(toLlmHistory(start.messages));
    await conversation.start();

    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text: 'did you book it' });
    transport.hear(6, 0);
    await until(() => answers().length === 1, 'the answer');
    expect(llm.requests[0]).toEqual([
      { role: 'system', content: 'You take table bookings.' },
      { role: 'user', content: 'a table for two, I am Ann' },
      {
        role: 'assistant',
        content: '',
        toolCalls: [
          { id: 'call-1', name: 'book_table', arguments: '{"people":2}' },
          { id: 'call-2', name: 'set_variables', arguments: '{"name":"Ann"}' },
        ],
      },
      { role: 'tool', toolCallId: 'call-1', name: 'book_table', content: '{"booked":true}' },
      { role: 'tool', toolCallId: 'call-2', name: 'set_variables', content: '{"result":"unknown"}' },
      { role: 'assistant', content: 'Booked, Ann.' },
      { role: 'user', content: 'did you book it' },
    ]);
  });
});
