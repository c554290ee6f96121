import { describe, expect, it } from 'vitest';
import { ProviderError } from '../providers/provider-error.ts';
import { Conversation, type ConversationEvent, type ConversationOptions, type ToolExecution } from './conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words, type ScriptedAnswer } from './testing/fakes.ts';
import { runningConversations, until } from './testing/conversation-harness.ts';

const running = runningConversations();

function setup(answers: ScriptedAnswer[], overrides: Partial<ConversationOptions> = {}, stt = new FakeStt()) {
  const transport = new FakeTransport();
  const llm = new FakeLlm(answers);
  const tts = new FakeTts();
  const events: ConversationEvent[] = [];
  const tools: { name: string; arguments: string }[] = [];
  const conversation = new Conversation({
    transport,
    vad: new FakeVad(),
    stt,
    llm,
    tts,
    language: 'en-US',
    voiceId: 'v1',
    messages: [{ role: 'system', content: 'You are a clinic receptionist.' }],
    tools: [{ name: 'set_variables', description: 'Sets flow variables.', parameters: { type: 'object' } }],
    executeTool: async (call): Promise<ToolExecution> => {
      tools.push({ name: call.name, arguments: call.arguments });
      return { result: JSON.stringify({ result: 'success' }), runLlm: true };
    },
    onEvent: (event) => events.push(event),
    ...overrides,
  });
  running.push({ conversation, transport });
  const of = <T extends ConversationEvent['type']>(type: T) => events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);
  /** The caller says something: speech frames, then silence, and STT's final text. */
  const say = async (text: string) => {
    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text });
    transport.hear(6, 0);
  };
  return { conversation, transport, stt, llm, tts, events, of, say, tools };
}

describe('Conversation', () => {
  it('greets first, speaking sentence by sentence while the LLM still writes', async () => {
    const { conversation, transport, tts, of } = setup([words('Hello, this is the clinic. How can I help you today?', 15)]);
    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    expect(of('assistant_message')[0]).toMatchObject({ text: 'Hello, this is the clinic. How can I help you today?', interrupted: false });
    expect(tts.texts).toEqual(['Hello, this is the clinic.', 'How can I help you today?']);
    const latency = of('turn_latency')[0]!;
    // The first audio went out before the LLM finished writing the second sentence.
    expect(latency.firstAudioAt).toBeLessThan(latency.llmRequestAt! + 15 * 12);
    await until(() => transport.queuedMs() === 0, 'the greeting to play');
    expect(transport.played.length).toBeGreaterThan(0);
    expect(conversation.history().at(-1)).toEqual({ role: 'assistant', content: 'Hello, this is the clinic. How can I help you today?' });
  });

  it('keeps the context over two turns and ignores interim transcripts', async () => {
    const { conversation, llm, stt, transport, say, of } = setup([
      words('Hello, how can I help?'),
      words('We open at nine in the morning.'),
      words('Yes, on Saturdays we open at ten.'),
    ]);
    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    await until(() => transport.queuedMs() === 0, 'the greeting to play');
    stt.session!.emit({ type: 'interim', text: 'when do' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(llm.requests).toHaveLength(1);

    await say('When do you open?');
    await until(() => of('assistant_message').length === 2, 'the first answer');
    await until(() => transport.queuedMs() === 0, 'the answer to play');
    await say('And on Saturdays?');
    await until(() => of('assistant_message').length === 3, 'the second answer');
    expect(llm.requests[2]!.map((message) => `${message.role}: ${'content' in message ? message.content : ''}`)).toEqual([
      'system: You are a clinic receptionist.',
      'assistant: Hello, how can I help?',
      'user: When do you open?',
      'assistant: We open at nine in the morning.',
      'user: And on Saturdays?',
    ]);
    expect(of('user_transcript').map((event) => event.text)).toEqual(['When do you open?', 'And on Saturdays?']);
  });

  it('stops at once on barge-in and keeps only the words the caller heard', async () => {
    const long =
      'Our clinic offers general medicine, dentistry and physiotherapy. We are open every weekday from nine to six. On Saturdays we open from ten to two. Parking is free for all patients.';
    // Any sound at all interrupts (no minimum duration, words not awaited): the barge-in path alone.
    const { conversation, transport, llm, of, say } = setup([words(long, 2), words('Sure, go ahead.')], { turnConfig: { interruption: { min_secs: 0, min_words: 0 } } });
    await conversation.start();
    await until(() => transport.played.length > 40, 'some of the answer to be heard');
    transport.hear(3, 5000); // The caller starts talking over the bot.
    await until(() => of('barge_in').length === 1, 'the barge-in');
    expect(transport.queuedMs()).toBe(0);
    const heard = of('barge_in')[0]!.heardText;
    expect(heard.length).toBeGreaterThan(0);
    expect(long.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThan(long.length);
    const playedAfter = transport.played.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(transport.played.length).toBe(playedAfter);
    expect(conversation.history().at(-1)).toEqual({ role: 'assistant', content: heard });

    await say('Can I book an appointment?');
    await until(() => llm.requests.length === 2, 'the next turn');
    expect(llm.requests[1]!.slice(-2)).toEqual([
      { role: 'assistant', content: heard },
      { role: 'user', content: 'Can I book an appointment?' },
    ]);
  });

  it('sends tool calls out, gives the results back and lets the LLM speak again', async () => {
    const { conversation, transport, llm, tools, of, say } = setup([
      words('Hello.'),
      [
        { type: 'tool-call-start', id: 'call-1', name: 'set_variables' },
        { type: 'tool-call-delta', id: 'call-1', argumentsDelta: '{"variables":{"day"' },
        { type: 'tool-call', id: 'call-1', name: 'set_variables', arguments: '{"variables":{"day":"tuesday"}}' },
        { type: 'done', finishReason: 'tool-calls' },
      ],
      words('Done, you are booked for Tuesday.'),
    ]);
    await conversation.start();
    await until(() => transport.queuedMs() === 0 && of('assistant_message').length === 1, 'the greeting');
    await say('Book me for Tuesday.');
    await until(() => of('assistant_message').length === 3, 'the answer after the tool');
    expect(tools).toEqual([{ name: 'set_variables', arguments: '{"variables":{"day":"tuesday"}}' }]);
    expect(llm.requests[2]!.slice(-2)).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call-1', name: 'set_variables', arguments: '{"variables":{"day":"tuesday"}}' }] },
      { role: 'tool', toolCallId: 'call-1', name: 'set_variables', content: '{"result":"success"}' },
    ]);
    expect(of('tool_result')).toHaveLength(1);
  });

  it('ends the session cleanly when a tool says so, after the audio has played', async () => {
    const { conversation, transport, of } = setup(
      [
        [
          { type: 'text-delta', text: 'Goodbye then. ' },
          { type: 'tool-call', id: 'call-9', name: 'stop_service', arguments: '{}' },
          { type: 'done', finishReason: 'tool-calls' },
        ],
      ],
      { executeTool: async () => ({ result: '{"result":"success"}', runLlm: false, endSession: 'stop_service' }) },
    );
    await conversation.start();
    await until(() => of('ended').length === 1, 'the end');
    expect(of('ended')[0]).toEqual({ type: 'ended', reason: 'stop_service' });
    expect(transport.queuedMs()).toBe(0);
    expect(transport.played.length).toBeGreaterThan(0);
  });

  it('says a last text over whatever the bot was saying and then ends (sayAndStop)', async () => {
    const long = 'Our clinic offers general medicine, dentistry and physiotherapy. We are open every weekday from nine to six.';
    const { conversation, transport, tts, llm, of, say } = setup([words(long, 2), words('Never spoken.')]);
    await conversation.start();
    await until(() => transport.played.length > 10, 'part of the greeting');
    const ending = conversation.sayAndStop('Your balance ran out. Goodbye.', 'stop_service');
    await say('Wait, one more thing.');
    await ending;
    expect(of('ended')).toEqual([{ type: 'ended', reason: 'stop_service' }]);
    expect(tts.texts).toContain('Your balance ran out. Goodbye.');
    expect(transport.queuedMs()).toBe(0);
    const messages = of('assistant_message');
    expect(messages[0]).toMatchObject({ interrupted: true });
    expect(messages.at(-1)).toMatchObject({ text: 'Your balance ran out. Goodbye.', interrupted: false });
    // The caller's words during the goodbye start no new turn.
    expect(llm.requests).toHaveLength(1);
  });

  it('hands DTMF to the LLM as a user event', async () => {
    const { conversation, llm, of } = setup([words('Press a key.'), words('You pressed five.')]);
    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    conversation.dtmf('5');
    await until(() => llm.requests.length === 2, 'the DTMF turn');
    expect(llm.requests[1]!.at(-1)).toEqual({ role: 'user', content: '[The caller pressed the phone key 5]' });
    // Reported for storage like a spoken turn, so the stored conversation matches the LLM's.
    expect(of('user_transcript')).toMatchObject([{ text: '[The caller pressed the phone key 5]' }]);
  });

  it('ends with a clear reason when a provider fails, instead of going silent', async () => {
    const { conversation, of } = setup([new ProviderError('auth', 'The API key was rejected (401).', { provider: 'openai' })]);
    await conversation.start();
    await until(() => of('ended').length === 1, 'the end');
    expect(of('ended')[0]).toMatchObject({ reason: 'llm failed: The API key was rejected (401).', error: { category: 'auth' } });
  });

  it('reports usage of every provider', async () => {
    const { conversation, stt, of } = setup([words('Hello there, friend.')]);
    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    stt.session!.emit({ type: 'usage', audioSeconds: 1.5 });
    await until(() => of('usage').some((event) => event.kind === 'stt'), 'stt usage');
    await until(() => of('usage').some((event) => event.kind === 'tts'), 'tts usage');
    expect(of('usage').find((event) => event.kind === 'llm')).toMatchObject({ provider: 'fake.llm', inputTokens: 10 });
    expect(of('usage').find((event) => event.kind === 'stt')).toMatchObject({ audioSeconds: 1.5 });
  });

  it("bills the audio STT reports as its session closes, before it reports the end", async () => {
    // Real STT sessions count their audio and report it on close: dropped, no call's speech
    // recognition was ever billed.
    const { conversation, transport, events, of } = setup([words('Hello there, friend.')], {}, new FakeStt({ usageOnClose: true }));
    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    transport.hear(50, 0);
    await conversation.stop('the call hung up');
    const stt = events.findIndex((event) => event.type === 'usage' && event.kind === 'stt');
    expect(stt, 'an stt usage event').toBeGreaterThanOrEqual(0);
    expect(of('usage').find((event) => event.kind === 'stt')!.audioSeconds).toBeGreaterThanOrEqual(1);
    expect(stt).toBeLessThan(events.findIndex((event) => event.type === 'ended'));
  });

  it('records a finished answer once it has played, and only the heard part when the call ends first', async () => {
    const long = 'We have appointments on Monday, Tuesday and Wednesday mornings. Thursdays are fully booked. Fridays are open all day.';
    const { conversation, transport, of } = setup([words(long)]);
    await conversation.start();
    await until(() => transport.played.length > 30, 'part of the answer to play');
    expect(of('assistant_message')).toHaveLength(0);
    await conversation.stop('the caller hung up');
    const messages = of('assistant_message');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.interrupted).toBe(true);
    expect(long.startsWith(messages[0]!.text)).toBe(true);
    expect(messages[0]!.text.length).toBeLessThan(long.length);
  });
});
