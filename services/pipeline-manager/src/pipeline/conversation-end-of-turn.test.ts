import { describe, expect, it } from 'vitest';
import { Conversation, type ConversationEvent, type ConversationOptions } from './conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words, type ScriptedAnswer } from './testing/fakes.ts';
import { runningConversations, until } from './testing/conversation-harness.ts';

const running = runningConversations();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Short waits so the tests run quickly; the FakeVad reports a stop after 100 ms of quiet. */
const fast = { preemptive_pause_secs: 0.15, complete_stop_secs: 0.4, incomplete_stop_secs: 1.2 };

function setup(answers: ScriptedAnswer[], overrides: Partial<ConversationOptions> = {}) {
  const transport = new FakeTransport();
  const stt = new FakeStt();
  const llm = new FakeLlm(answers);
  const events: ConversationEvent[] = [];
  const conversation = new Conversation({
    transport,
    vad: new FakeVad(),
    stt,
    llm,
    tts: new FakeTts(),
    language: 'en-US',
    voiceId: 'v1',
    messages: [{ role: 'system', content: 'You are a clinic receptionist.' }],
    tools: [],
    greeting: false,
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => events.push(event),
    turnConfig: { end_of_turn: fast },
    ...overrides,
  });
  running.push({ conversation, transport });
  const of = <T extends ConversationEvent['type']>(type: T) => events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);
  /** The caller says a stretch of words: speech, STT's final, then the VAD hears the pause begin. */
  const speak = (text: string) => {
    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text });
    transport.hear(6, 0);
  };
  const turnOf = (segmentId: string) => Number(segmentId.split(':')[0]);
  return { conversation, transport, stt, llm, events, of, speak, turnOf };
}

describe('Conversation end of turn', () => {
  it('prepares the answer during the pause and plays it when the turn ends, not before', async () => {
    const { conversation, transport, llm, of, speak } = setup([words('We open at nine.')]);
    await conversation.start();
    speak('When do you open?');
    await until(() => llm.requests.length === 1, 'the answer to be prepared');
    // Prepared, not heard and not on record: the turn has not ended yet.
    expect(of('user_transcript')).toEqual([]);
    expect(llm.requests[0]!.at(-1)).toEqual({ role: 'user', content: 'When do you open?' });
    await sleep(60);
    expect(transport.played).toEqual([]);
    expect(of('assistant_text')).toEqual([]);
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(of('user_transcript').map((event) => event.text)).toEqual(['When do you open?']);
    expect(llm.requests).toHaveLength(1);
    const latency = of('turn_latency')[0]!;
    expect(latency.preemptive).toBe(true);
    expect(latency.llmRequestAt!).toBeLessThan(latency.turnEndAt!);
    expect(latency.firstAudioAt!).toBeGreaterThanOrEqual(latency.turnEndAt!);
    expect(conversation.history().slice(1)).toEqual([
      { role: 'user', content: 'When do you open?' },
      { role: 'assistant', content: 'We open at nine.' },
    ]);
  });

  it('drops the prepared answer silently when the caller goes on, and answers the whole sentence once', async () => {
    const { conversation, transport, llm, of, speak, turnOf } = setup([words('Which day suits you?'), words('Tomorrow morning at nine is free.')]);
    await conversation.start();
    speak('I need an appointment');
    await until(() => llm.requests.length === 1, 'an answer to be prepared');
    // The prepared answer is spoken into the hold; about 0.25 s into the pause the caller goes on.
    await sleep(50);
    expect(transport.played).toEqual([]);
    speak('for tomorrow morning.');
    await until(() => of('assistant_message').length === 1, 'the answer');
    await until(() => transport.queuedMs() === 0, 'the answer to play');
    expect(of('preemptive_discarded')).toHaveLength(1);
    expect(of('preemptive_discarded')[0]!.usage).toMatchObject({ outputTokens: 4, characters: 'Which day suits you?'.length });
    expect(of('usage').filter((event) => event.discarded).map((event) => event.kind).sort()).toEqual(['llm', 'tts']);
    expect(of('usage').filter((event) => !event.discarded && event.kind === 'llm')).toHaveLength(1);
    expect(of('user_transcript').map((event) => event.text)).toEqual(['I need an appointment for tomorrow morning.']);
    expect(of('assistant_message').map((event) => event.text)).toEqual(['Tomorrow morning at nine is free.']);
    expect(of('assistant_text').every((event) => !event.text.includes('Which day'))).toBe(true);
    expect(llm.requests[1]!.at(-1)).toEqual({ role: 'user', content: 'I need an appointment for tomorrow morning.' });
    // The caller heard only the answer to the whole sentence, as the first turn.
    expect(new Set(transport.played.map((entry) => turnOf(entry.segmentId)))).toEqual(new Set([1]));
    expect(conversation.history().slice(1)).toEqual([
      { role: 'user', content: 'I need an appointment for tomorrow morning.' },
      { role: 'assistant', content: 'Tomorrow morning at nine is free.' },
    ]);
  });

  it('waits longer after an unfinished utterance before it answers', async () => {
    const { conversation, llm, of, speak } = setup([words('Thanks.'), words('Thank you, noted.')], {
      turnConfig: { end_of_turn: { ...fast, preemptive_enabled: false } },
    });
    await conversation.start();
    speak('my number is four one five');
    // Well past complete_stop_secs: an unfinished number is not the end of the turn.
    await sleep(600);
    expect(of('user_transcript')).toEqual([]);
    expect(llm.requests).toEqual([]);
    speak('five five five one two one two.');
    await until(() => of('user_transcript').length === 1, 'the end of the turn');
    expect(of('user_transcript')[0]!.text).toBe('my number is four one five five five five one two one two.');
    await until(() => of('assistant_message').length === 1, 'the answer');
    expect(llm.requests).toHaveLength(1);
  });

  it('ends an unfinished utterance on the STT provider\'s end-of-utterance signal', async () => {
    const { conversation, stt, of, speak } = setup([words('Take your time.')], {
      turnConfig: { end_of_turn: { ...fast, preemptive_enabled: false } },
    });
    await conversation.start();
    speak('I want to, um');
    await sleep(100);
    stt.session!.emit({ type: 'endpoint' });
    await until(() => of('user_transcript').length === 1, 'the end of the turn', 900);
    expect(of('user_transcript')[0]!.text).toBe('I want to, um');
  });
});
