import { describe, expect, it } from 'vitest';
import type { TtsOptions, TtsSession } from '../providers/types.ts';
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
        conversation.switchMember({
          llm: billing,
          tts,
          voiceId: 'billing-voice',
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
});
