import { describe, expect, it } from 'vitest';
import { pipelineStartSchema, sessionLimits } from '../sessions/pipeline-start.ts';
import { closingLines } from './closing-lines.ts';
import { Conversation, type ConversationEvent, type ConversationOptions } from './conversation.ts';
import type { SessionLimitSettings } from './session-limits.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words, type ScriptedAnswer } from './testing/fakes.ts';
import { runningConversations, until } from './testing/conversation-harness.ts';

const running = runningConversations();
const english = closingLines('en-US');

function conversationWith(limits: SessionLimitSettings, answers: ScriptedAnswer[], options: { frameIntervalMs?: number; language?: string; greeting?: boolean } = {}) {
  const transport = new FakeTransport(options.frameIntervalMs);
  const stt = new FakeStt();
  const llm = new FakeLlm(answers);
  const events: ConversationEvent[] = [];
  const settings: ConversationOptions = {
    transport,
    vad: new FakeVad(),
    stt,
    llm,
    tts: new FakeTts(),
    language: options.language ?? 'en-US',
    voiceId: 'v1',
    messages: [{ role: 'system', content: 'You are a receptionist.' }],
    tools: [],
    greeting: options.greeting ?? true,
    limits,
    executeTool: async () => ({ result: '{}', runLlm: false }),
    onEvent: (event) => events.push(event),
  };
  const conversation = new Conversation(settings);
  running.push({ conversation, transport });
  const answers_ = () => events.filter((event): event is Extract<ConversationEvent, { type: 'assistant_message' }> => event.type === 'assistant_message');
  const users = () => events.filter((event): event is Extract<ConversationEvent, { type: 'user_transcript' }> => event.type === 'user_transcript').map((event) => event.text);
  const ended = () => events.find((event): event is Extract<ConversationEvent, { type: 'ended' }> => event.type === 'ended');
  return { conversation, transport, stt, llm, answers: answers_, users, ended };
}

describe('no-input re-prompts', () => {
  it('gives the LLM the silence as a user event, no_input_max times, then says goodbye and ends', async () => {
    const { conversation, llm, answers, users, ended } = conversationWith({ noInputTimeoutMs: 300, noInputMax: 2 }, [
      words('Hello, how can I help?'),
      words('Are you still there?'),
      words('Hello? Can you hear me?'),
    ]);
    const started = Date.now();
    await conversation.start();
    await until(() => ended() !== undefined, 'the session to end', 10_000);
    const tookMs = Date.now() - started;

    expect(users()).toEqual(['[The caller has been silent for 0.3 seconds]', '[The caller has been silent for 0.3 seconds]']);
    expect(answers().map((answer) => answer.text)).toEqual(['Hello, how can I help?', 'Are you still there?', 'Hello? Can you hear me?', english.noInput]);
    expect(llm.requests).toHaveLength(3);
    expect(llm.requests[1]!.at(-1)).toEqual({ role: 'user', content: '[The caller has been silent for 0.3 seconds]' });
    expect(ended()!.reason).toMatch(/^no input/);
    expect(ended()!.error).toBeUndefined();
    // Three silences of 0.3 s after the bot stopped each time, not sooner.
    expect(tookMs).toBeGreaterThanOrEqual(900);
  });

  it('counts again from zero once the caller speaks', async () => {
    const { conversation, transport, stt, answers, users, ended } = conversationWith({ noInputTimeoutMs: 400, noInputMax: 1 }, [
      words('Hello, how can I help?'),
      words('Are you still there?'),
      words('Good, what do you need?'),
      words('Are you there?'),
    ]);
    await conversation.start();
    await until(() => answers().length === 2, 'the first re-prompt');
    await until(() => !conversation.speaking, 'the re-prompt to have played');
    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text: 'yes i am here' });
    transport.hear(6, 0);
    await until(() => answers().length === 3, 'the answer to the caller');
    // With no_input_max 1, a count left at 1 would end the session at the next silence: it re-prompts instead.
    await until(() => answers().length === 4, 'a new re-prompt');
    expect(answers()[3]!.text).toBe('Are you there?');
    await until(() => ended() !== undefined, 'the session to end', 5000);
    expect(users()).toEqual(['[The caller has been silent for 0.4 seconds]', 'yes i am here', '[The caller has been silent for 0.4 seconds]']);
    expect(answers().at(-1)!.text).toBe(english.noInput);
  });

  it('never re-prompts while the bot is still speaking', async () => {
    // 10 ms of audio per character, played in real time: the greeting plays for about 1.4 s.
    const greeting = 'Hello and welcome to the riverside dental clinic, this is the receptionist speaking, how can I help you today?';
    const { conversation, users } = conversationWith({ noInputTimeoutMs: 300, noInputMax: 2 }, [words(greeting)], { frameIntervalMs: 20 });
    await conversation.start();
    await until(() => conversation.speaking, 'the greeting');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(conversation.speaking).toBe(true);
    expect(users()).toEqual([]);
  });
});

describe('the time limit (ai_talk.duration)', () => {
  it('says the closing line and ends with stop_service semantics when the time is up', async () => {
    const { conversation, answers, ended } = conversationWith({ endAfterMs: 400 }, [words('Hello, how can I help?')]);
    await conversation.start();
    await until(() => ended() !== undefined, 'the session to end', 5000);
    expect(answers().map((answer) => answer.text)).toEqual(['Hello, how can I help?', english.timeLimit]);
    expect(ended()!.reason).toMatch(/^time limit/);
    expect(ended()!.error).toBeUndefined();
  });

  it('lets the sentence being heard finish, drops the rest of the answer, then closes', async () => {
    const { conversation, transport, answers, ended } = conversationWith(
      { endAfterMs: 250 },
      [words('This is the first sentence of a long greeting. The second sentence is never heard by the caller.')],
      { frameIntervalMs: 20 },
    );
    await conversation.start();
    await until(() => ended() !== undefined, 'the session to end', 10_000);
    expect(answers().map((answer) => [answer.text, answer.interrupted])).toEqual([
      ['This is the first sentence of a long greeting.', true],
      [english.timeLimit, false],
    ]);
    // The first sentence played whole: its segment finished before the closing line began.
    const segments = [...new Set(transport.played.map((entry) => entry.segmentId))];
    expect(segments).toEqual(['1:0:0', '2:0:0']);
  });

  it('keeps a limit longer than a Node timer can wait (24.8 days) instead of ending at once', async () => {
    const { conversation, ended } = conversationWith({ endAfterMs: 30 * 86_400_000 }, [], { greeting: false });
    await conversation.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ended()).toBeUndefined();
  });

  it('speaks the closing line in the session language when it has one', async () => {
    const { conversation, answers, ended } = conversationWith({ endAfterMs: 100 }, [], { language: 'de-DE', greeting: false });
    await conversation.start();
    await until(() => ended() !== undefined, 'the session to end', 5000);
    expect(answers().map((answer) => answer.text)).toEqual([closingLines('de').timeLimit]);
    expect(closingLines('de').timeLimit).toBe('Wir haben das Zeitlimit für diesen Anruf erreicht. Auf Wiederhören.');
    expect(closingLines('pt-BR')).toEqual(english);
  });

  it('a resumed session keeps the original deadline: past it, it closes at once; before it, it waits for what is left', async () => {
    const start = (deadline: number) =>
      pipelineStartSchema.parse({
        aicall_id: crypto.randomUUID(),
        customer_id: crypto.randomUUID(),
        call_id: crypto.randomUUID(),
        ai: { engine_model: 'fake.model' },
        greeting: false,
        pipeline_epoch: 1,
        resume: { say: null },
        deadline_at: new Date(deadline).toISOString(),
      });
    const now = Date.now();
    expect(sessionLimits(start(now + 30_000), now)).toEqual({ endAfterMs: 30_000, noInputTimeoutMs: 0, noInputMax: 2 });
    expect(sessionLimits(pipelineStartSchema.parse({ ...start(now), deadline_at: null }), now)).toBeUndefined();

    // Taken over after the deadline passed (the old pipeline died just before it): the closing line, then the end.
    const limits = sessionLimits(start(Date.now() - 2000))!;
    expect(limits.endAfterMs).toBeLessThan(0);
    const { conversation, llm, answers, ended } = conversationWith(limits, [], { greeting: false });
    await conversation.start();
    await until(() => ended() !== undefined, 'the resumed session to end', 5000);
    expect(answers().map((answer) => answer.text)).toEqual([english.timeLimit]);
    expect(llm.requests).toHaveLength(0);
  });

  it('refuses a deadline that is not an ISO time, and no_input settings out of range', () => {
    const base = { aicall_id: crypto.randomUUID(), customer_id: crypto.randomUUID(), call_id: crypto.randomUUID() };
    expect(pipelineStartSchema.safeParse({ ...base, ai: { engine_model: 'x.y' }, deadline_at: 'tomorrow' }).success).toBe(false);
    expect(pipelineStartSchema.safeParse({ ...base, ai: { engine_model: 'x.y', no_input_max: 0 } }).success).toBe(false);
    expect(pipelineStartSchema.safeParse({ ...base, ai: { engine_model: 'x.y', no_input_timeout: -1 } }).success).toBe(false);
  });
});
