import { describe, expect, it } from 'vitest';
import type { SttSession, SttStartOptions, TtsOptions, TtsSession } from '../providers/types.ts';
import { Conversation, type ConversationEvent, type ToolExecution } from './conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, words } from './testing/fakes.ts';
import { runningConversations, until } from './testing/conversation-harness.ts';

const running = runningConversations();

/** A FakeTts that also notes the voice each sentence was asked in. */
class VoiceNotingTts extends FakeTts {
  readonly voices: string[] = [];
  override open(options: TtsOptions): TtsSession {
    const session = super.open(options);
    return { events: session.events, end: () => session.end(), push: (text) => (this.voices.push(options.voiceId), session.push(text)) };
  }
}

describe('Conversation of a team: switching member', () => {
  it('speaks with the new member from the round after the transition, under its prompt, with the history kept', async () => {
    const transport = new FakeTransport();
    const stt = new FakeStt();
    const reception = new FakeLlm([
      words('Front desk, how can I help?'),
      [
        { type: 'text-delta', text: 'Let me get billing for you.' },
        { type: 'tool-call', id: 'call-1', name: 'to_billing', arguments: '{}' },
        { type: 'done', finishReason: 'tool-calls' },
      ],
    ]);
    const billing = new FakeLlm([words('Billing here, your invoice is paid.')]);
    const tts = new VoiceNotingTts();
    const events: ConversationEvent[] = [];
    const conversation: Conversation = new Conversation({
      transport,
      vad: new FakeVad(),
      stt,
      llm: reception,
      tts,
      language: 'en-US',
      voiceId: 'reception-voice',
      messages: [
        { role: 'system', content: 'Platform rules.' },
        { role: 'system', content: 'You are the receptionist.' },
      ],
      tools: [{ name: 'to_billing', description: 'Billing questions.', parameters: { type: 'object' } }],
      executeTool: async (call): Promise<ToolExecution> => {
        expect(call.name).toBe('to_billing');
        await conversation.switchMember({
          llm: billing,
          tts,
          voiceId: 'billing-voice',
          language: 'en-US',
          tools: [{ name: 'stop_service', description: 'Ends it.', parameters: { type: 'object' } }],
          systemMessages: ['Platform rules.', 'You are the billing clerk.'],
        });
        return { result: JSON.stringify({ result: 'success', message: 'Handed over to Billing.' }), runLlm: true };
      },
      onEvent: (event) => events.push(event),
    });
    running.push({ conversation, transport });
    const answers = () => events.filter((event): event is Extract<ConversationEvent, { type: 'assistant_message' }> => event.type === 'assistant_message');

    await conversation.start();
    await until(() => answers().length === 1, 'the greeting');
    await until(() => transport.queuedMs() === 0, 'the greeting to play');
    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text: 'A question about my bill.' });
    transport.hear(6, 0);
    await until(() => answers().some((answer) => answer.text === 'Billing here, your invoice is paid.'), 'the billing answer', 5000);

    expect(tts.texts).toEqual(['Front desk, how can I help?', 'Let me get billing for you.', 'Billing here, your invoice is paid.']);
    expect(tts.voices).toEqual(['reception-voice', 'reception-voice', 'billing-voice']);
    expect(billing.requests).toHaveLength(1);
    expect(billing.requests[0]!.map((message) => `${message.role}: ${message.content}`)).toEqual([
      'system: Platform rules.',
      'system: You are the billing clerk.',
      'assistant: Front desk, how can I help?',
      'user: A question about my bill.',
      'assistant: Let me get billing for you.',
      `tool: ${JSON.stringify({ result: 'success', message: 'Handed over to Billing.' })}`,
    ]);
    // The receptionist's LLM was asked nothing after the hand-over.
    expect(reception.requests).toHaveLength(2);
  });

  /**
   * A FakeStt under its own name that notes the language it was opened in, or cannot open. Its
   * close is held until `finishClose` (a real recogniser still delivers, or fails, after it).
   */
  class NamedStt extends FakeStt {
    readonly languages: string[] = [];
    closeAsked = false;
    private closeNow = () => undefined as void;
    constructor(
      override readonly name: string,
      private readonly refuse = false,
    ) {
      super({ usageOnClose: true });
    }
    override async start(options: SttStartOptions): Promise<SttSession> {
      if (this.refuse) throw new Error('the recogniser is unreachable');
      this.languages.push(options.language);
      const session = await super.start();
      const close = session.close;
      this.closeNow = () => close();
      return Object.assign(session, { close: () => void (this.closeAsked = true) });
    }
    finishClose(): void {
      this.closeNow();
    }
  }

  /** A receptionist who hands over to a Spanish-speaking member on the first question. */
  function teamConversation(spanishStt: NamedStt) {
    const transport = new FakeTransport();
    const englishStt = new NamedStt('stt.english');
    const reception = new FakeLlm([
      words('Front desk, how can I help?'),
      [
        { type: 'tool-call', id: 'call-1', name: 'to_spanish', arguments: '{}' },
        { type: 'done', finishReason: 'tool-calls' },
      ],
      words('Still the front desk.'),
    ]);
    const spanish = new FakeLlm([words('Hola, le ayudo.'), words('Claro que si.')]);
    const events: ConversationEvent[] = [];
    const switches: Awaited<ReturnType<Conversation['switchMember']>>[] = [];
    const conversation: Conversation = new Conversation({
      transport,
      vad: new FakeVad(),
      stt: englishStt,
      llm: reception,
      tts: new FakeTts(),
      language: 'en-US',
      voiceId: 'reception-voice',
      messages: [{ role: 'system', content: 'You are the receptionist.' }],
      tools: [{ name: 'to_spanish', description: 'Spanish speakers.', parameters: { type: 'object' } }],
      executeTool: async (): Promise<ToolExecution> => {
        switches.push(
          await conversation.switchMember({ llm: spanish, tts: new FakeTts(), voiceId: 'es-voice', tools: [], systemMessages: ['Eres el agente.'], language: 'es-ES', stt: spanishStt }),
        );
        return { result: JSON.stringify({ result: 'success' }), runLlm: true };
      },
      onEvent: (event) => events.push(event),
    });
    running.push({ conversation, transport });
    const answers = () => events.filter((event): event is Extract<ConversationEvent, { type: 'assistant_message' }> => event.type === 'assistant_message').map((event) => event.text);
    /** Once the bot's audio has played, the caller speaks and `stt` hears `text`; resolves with the answer `reply`. */
    const callerSays = async (stt: NamedStt, text: string, reply: string) => {
      await until(() => transport.queuedMs() === 0, 'the bot to finish speaking');
      transport.hear(10, 5000);
      stt.session!.emit({ type: 'final', text });
      transport.hear(6, 0);
      await until(() => answers().includes(reply), `the answer "${reply}"`, 5000);
    };
    /** Starts it and hands over: the greeting, then the caller's Spanish heard by the English recogniser. */
    const handOver = async () => {
      await conversation.start();
      await until(() => answers().length === 1, 'the greeting');
      await callerSays(englishStt, 'Hablo español.', 'Hola, le ayudo.');
    };
    return { conversation, englishStt, spanish, events, switches, callerSays, handOver };
  }

  it.each([
    ['reports its usage as it closes', 'usage'],
    ['fails as it closes (nothing changes for the caller)', 'error'],
  ] as const)("hears the caller with the new member's recogniser and language from the hand-over; the previous one is closed and %s", async (_, closing) => {
    const spanishStt = new NamedStt('stt.spanish');
    const team = teamConversation(spanishStt);
    await team.handOver();
    expect(team.switches).toEqual([{ stt: 'switched' }]);
    expect(spanishStt.languages).toEqual(['es-ES']);
    // The English recogniser was asked to close: it reports the audio it took under its own name,
    // or fails while it closes, which changes nothing.
    expect(team.englishStt.closeAsked).toBe(true);
    const usage = () => team.events.filter((event) => event.type === 'usage' && event.kind === 'stt');
    if (closing === 'error') {
      team.englishStt.session!.emit({ type: 'error', error: new Error('failure of the closing recogniser') });
    } else {
      team.englishStt.finishClose();
      await until(() => usage().length === 1, 'the English usage');
      expect(usage()[0]).toMatchObject({ provider: 'stt.english', audioSeconds: expect.any(Number) });
    }
    const englishFrames = team.englishStt.session!.written;
    await team.callerSays(spanishStt, '¿Me ayuda?', 'Claro que si.');
    expect(team.englishStt.session!.written).toBe(englishFrames);
    expect(spanishStt.session!.written).toBeGreaterThan(0);
    expect(team.spanish.requests[1]!.at(-1)).toEqual({ role: 'user', content: '¿Me ayuda?' });
    expect(team.events.some((event) => event.type === 'ended')).toBe(false);
    spanishStt.finishClose();
    await team.conversation.stop('done');
    expect(usage().map((event) => (event as { provider: string }).provider)).toEqual(closing === 'usage' ? ['stt.english', 'stt.spanish'] : ['stt.spanish']);
  });

  it("keeps the previous recogniser listening when the new member's cannot start", async () => {
    const team = teamConversation(new NamedStt('stt.spanish', true));
    await team.handOver();
    expect(team.switches).toMatchObject([{ stt: 'failed', error: expect.any(Error) }]);
    // The English recogniser still hears the caller.
    await team.callerSays(team.englishStt, 'Por favor.', 'Claro que si.');
  });

  it("judges the caller by the new member's turn settings: its interruption words, its VAD settings", async () => {
    const transport = new FakeTransport();
    const stt = new FakeStt();
    const vad = new FakeVad();
    const answer = 'Our clinic offers general medicine, dentistry and physiotherapy. We are open every weekday from nine to six. Parking is free for all patients.';
    const reception = new FakeLlm([
      words('Front desk, how can I help?'),
      [
        { type: 'tool-call', id: 'call-1', name: 'to_clinic', arguments: '{}' },
        { type: 'done', finishReason: 'tool-calls' },
      ],
    ]);
    const clinic = new FakeLlm([words(answer), words('Yes?')]);
    const events: ConversationEvent[] = [];
    const fast = { min_secs: 0.1, false_interruption_secs: 0.2 };
    const conversation: Conversation = new Conversation({
      transport,
      vad,
      stt,
      llm: reception,
      // 40 ms of the bot's tone per character, played 10x faster than real time.
      tts: new FakeTts(40),
      language: 'en-US',
      voiceId: 'reception-voice',
      messages: [{ role: 'system', content: 'You are the receptionist.' }],
      tools: [{ name: 'to_clinic', description: 'Clinic questions.', parameters: { type: 'object' } }],
      // The receptionist stops for one word; the clinic member only for three.
      turnConfig: { interruption: fast },
      executeTool: async (): Promise<ToolExecution> => {
        await conversation.switchMember({
          llm: clinic,
          tts: new FakeTts(40),
          voiceId: 'clinic-voice',
          tools: [],
          systemMessages: ['You are the clinic.'],
          language: 'en-US',
          turnConfig: { interruption: { ...fast, min_words: 3 } },
          vadConfig: { stop_secs: 0.3, confidence: 0.6 },
        });
        return { result: JSON.stringify({ result: 'success' }), runLlm: true };
      },
      onEvent: (event) => events.push(event),
    });
    running.push({ conversation, transport });
    const of = <T extends ConversationEvent['type']>(type: T) => events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);

    await conversation.start();
    await until(() => of('assistant_message').length === 1, 'the greeting');
    await until(() => transport.queuedMs() === 0, 'the greeting to play');
    expect(vad.configured).toEqual([]);
    transport.hear(10, 5000);
    stt.session!.emit({ type: 'final', text: 'What does the clinic offer?' });
    transport.hear(6, 0);
    await until(() => clinic.requests.length === 1, "the clinic member's answer to start", 5000);
    expect(vad.configured).toEqual([{ stop_secs: 0.3, confidence: 0.6 }]);
    const playedBefore = transport.played.length;
    await until(() => transport.played.length > playedBefore + 40, 'part of the answer to be heard', 5000);

    // Two words over the clinic member's answer: one would have stopped the receptionist.
    for (let frame = 0; frame < 8; frame++) {
      transport.hear(1, 5000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    stt.session!.emit({ type: 'final', text: 'Stop please.' });
    transport.hear(6, 0);
    await until(() => of('assistant_message').some((message) => message.text === answer), 'the whole answer', 8000);
    expect(of('assistant_message').find((message) => message.text === answer)?.interrupted).toBe(false);
    expect(of('barge_in')).toEqual([]);
    expect(of('interruption').map((event) => event.kind)).toEqual(['backchannel']);
  }, 15_000);
});
