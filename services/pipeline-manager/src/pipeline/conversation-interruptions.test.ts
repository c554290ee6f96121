import type { TurnConfig } from '@avp/shared';
import { describe, expect, it } from 'vitest';
import { Conversation, type ConversationEvent, type ConversationOptions, type ToolExecution } from './conversation.ts';
import { FakeLlm, FakeStt, FakeTransport, FakeTts, FakeVad, loudnessVad, words, type ScriptedAnswer } from './testing/fakes.ts';
import { runningConversations, until as waitUntil } from './testing/conversation-harness.ts';

const running = runningConversations();

const until = (predicate: () => boolean, what: string, timeoutMs = 4000) => waitUntil(predicate, what, timeoutMs);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Caller sound, frame by frame, each seen by VAD before the next (as in a real call). */
async function talk(transport: FakeTransport, frames: number, amplitude: number): Promise<void> {
  for (let index = 0; index < frames; index++) {
    transport.hear(1, amplitude);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const answer =
  'Our clinic offers general medicine, dentistry and physiotherapy. We are open every weekday from nine to six. On Saturdays we open from ten to two. Parking is free for all patients.';

/** Short thresholds so the tests run fast; the defaults are the README's. */
const fast: TurnConfig = { interruption: { min_secs: 0.1, false_interruption_secs: 0.2 } };

function setup(answers: ScriptedAnswer[], overrides: Partial<ConversationOptions> = {}) {
  // 40 ms of the bot's tone per character, played 10x faster than real time: the answer lasts ~1.4 s.
  const transport = new FakeTransport();
  const stt = new FakeStt();
  const llm = new FakeLlm(answers);
  const tts = new FakeTts(40);
  const events: ConversationEvent[] = [];
  const calls: string[] = [];
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
      calls.push(call.arguments);
      return { result: JSON.stringify({ result: 'success' }), runLlm: true };
    },
    onEvent: (event) => events.push(event),
    turnConfig: fast,
    ...overrides,
  });
  running.push({ conversation, transport });
  const of = <T extends ConversationEvent['type']>(type: T) => events.filter((event): event is Extract<ConversationEvent, { type: T }> => event.type === type);
  const kinds = () => of('interruption').map((event) => event.kind);
  /** The bot's answer was heard to its end, uninterrupted. */
  const playedWhole = () => until(() => of('assistant_message').some((message) => message.text === answer && !message.interrupted), 'the whole answer to play');
  return { conversation, transport, stt, llm, tts, of, kinds, calls, playedWhole };
}

describe('Conversation interruptions', () => {
  it('talks on over a short "mhm", which is not a turn of the caller', async () => {
    const { conversation, transport, stt, llm, kinds, playedWhole } = setup([words(answer)]);
    await conversation.start();
    await until(() => transport.played.length > 20, 'the answer to start');
    await talk(transport, 4, 5000); // 80 ms of sound: shorter than min_secs
    stt.session!.emit({ type: 'final', text: 'Mhm.' });
    stt.session!.emit({ type: 'endpoint' });
    transport.hear(6, 0);
    await playedWhole();
    expect(transport.interruptions).toBe(0);
    expect(llm.requests).toHaveLength(1);
    expect(conversation.history().some((message) => message.role === 'user')).toBe(false);
    expect(kinds()).toEqual(['backchannel']);
  });

  it('talks on over a long backchannel whose words arrive as interim results', async () => {
    const { conversation, transport, stt, llm, kinds, playedWhole, of } = setup([words(answer)]);
    await conversation.start();
    await until(() => transport.played.length > 20, 'the answer to start');
    await talk(transport, 3, 5000);
    stt.session!.emit({ type: 'interim', text: 'yeah okay' });
    await talk(transport, 12, 5000); // longer than min_secs: the words decide
    stt.session!.emit({ type: 'final', text: 'Yeah, okay, right.' });
    transport.hear(6, 0);
    await playedWhole();
    expect(transport.interruptions).toBe(0);
    expect(of('barge_in')).toHaveLength(0);
    expect(llm.requests).toHaveLength(1);
    expect(kinds()).toEqual(['backchannel']);
  });

  it('stops for words that are not a backchannel once the speech lasted min_secs, keeping what was heard', async () => {
    const { conversation, transport, stt, llm, kinds, of } = setup([words(answer), words('On Sundays we are closed.')]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 3, 5000);
    stt.session!.emit({ type: 'interim', text: 'wait what about' });
    await talk(transport, 1, 5000);
    expect(transport.interruptions).toBe(0); // not before min_secs (of voiced audio)
    await talk(transport, 4, 5000);
    await until(() => of('barge_in').length === 1, 'the barge-in');
    expect(kinds()).toEqual(['real']);
    const heard = of('barge_in')[0]!.heardText;
    expect(heard.length).toBeGreaterThan(0);
    expect(answer.startsWith(heard) && heard.length < answer.length).toBe(true);
    stt.session!.emit({ type: 'final', text: 'Wait, what about Sundays?' });
    transport.hear(6, 0);
    await until(() => llm.requests.length === 2, 'the answer to the interruption');
    expect(llm.requests[1]!.slice(-2)).toEqual([
      { role: 'assistant', content: heard },
      { role: 'user', content: 'Wait, what about Sundays?' },
    ]);
  });

  it('pauses at min_secs when no words are known yet, and stops for good when they come', async () => {
    const { conversation, transport, stt, llm, kinds, of } = setup([words(answer), words('On Sundays we are closed.')]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 8, 5000);
    await until(() => transport.interruptions === 1, 'the pause');
    const playedAtPause = transport.played.length;
    await sleep(40);
    expect(transport.played.length).toBe(playedAtPause); // silent while paused
    stt.session!.emit({ type: 'final', text: 'What about Sundays?' });
    transport.hear(6, 0);
    await until(() => llm.requests.length === 2, 'the answer to the interruption');
    expect(kinds()).toEqual(['real']);
    const heard = of('barge_in')[0]!.heardText;
    expect(answer.startsWith(heard) && heard.length > 0 && heard.length < answer.length).toBe(true);
    expect(llm.requests[1]!.slice(-2)).toEqual([
      { role: 'assistant', content: heard },
      { role: 'user', content: 'What about Sundays?' },
    ]);
  });

  it('talks on over a backchannel whose words come after the pause, also once the caller\'s turn ends', async () => {
    const { conversation, transport, stt, llm, kinds, of, playedWhole } = setup([words(answer)]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 8, 5000);
    await until(() => transport.interruptions === 1, 'the pause');
    stt.session!.emit({ type: 'final', text: 'Yeah, okay.' });
    transport.hear(6, 0);
    // Resumed for the backchannel; the end-of-turn wait for "Yeah, okay." ends while it talks again.
    await playedWhole();
    expect(kinds()).toEqual(['backchannel']);
    expect(of('barge_in')).toHaveLength(0);
    expect(of('user_transcript')).toHaveLength(0);
    expect(llm.requests).toHaveLength(1);
  });

  it('goes on from the cut sentence when what stopped it held no words (false interruption)', async () => {
    const { conversation, transport, llm, kinds, of, playedWhole } = setup([words(answer)]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 8, 5000); // a door slams: sound, no words
    await until(() => transport.interruptions === 1, 'the pause');
    const atPause = transport.played.length;
    const cut = transport.played.at(-1)!.segmentId;
    const heardOfCut = transport.played.filter((entry) => entry.segmentId === cut).length;
    transport.hear(6, 0);
    await playedWhole();
    expect(kinds()).toEqual(['false']);
    expect(of('barge_in')).toHaveLength(0);
    expect(llm.requests).toHaveLength(1);
    expect(conversation.history().at(-1)).toEqual({ role: 'assistant', content: answer });
    // The cut sentence is played again from its start, then the rest of the answer.
    const after = transport.played.slice(atPause);
    expect(after[0]!.segmentId).toBe(cut);
    expect(after.filter((entry) => entry.segmentId === cut).length).toBeGreaterThan(heardOfCut);
  });

  it('waits once more for a recogniser that has not answered for the sound, so late words still stop the bot', async () => {
    // An offline or loaded recogniser: the final comes after false_interruption_secs (0.2 s).
    const { conversation, transport, stt, llm, kinds } = setup([words(answer), words('On Sundays we are closed.')]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 8, 5000);
    await until(() => transport.interruptions === 1, 'the pause');
    const playedAtPause = transport.played.length;
    transport.hear(6, 0);
    await sleep(300);
    expect(kinds()).toEqual([]); // not yet taken for a false interruption
    expect(transport.played.length).toBe(playedAtPause);
    stt.session!.emit({ type: 'final', text: 'What about Sundays?' });
    await until(() => llm.requests.length === 2, 'the answer to the interruption');
    expect(kinds()).toEqual(['real']);
  });

  it('goes on at once when the recogniser says the sound held no words (an empty final)', async () => {
    const { conversation, transport, stt, kinds, playedWhole } = setup([words(answer)], {
      turnConfig: { interruption: { min_secs: 0.1, false_interruption_secs: 3 } },
    });
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    await talk(transport, 8, 5000); // a cough
    await until(() => transport.interruptions === 1, 'the pause');
    transport.hear(6, 0);
    await sleep(100);
    stt.session!.emit({ type: 'final', text: '' });
    await until(() => kinds().length === 1, 'the false interruption', 1500); // well before 3 s
    expect(kinds()).toEqual(['false']);
    await playedWhole();
  });

  it('takes sound far quieter than the bot for its echo: no barge-in, and its words are no turn', async () => {
    // A VAD that hears the echo (the fakes' tone is 3000; the echo comes back at -20 dB).
    const { conversation, transport, stt, llm, kinds, playedWhole } = setup([words(answer)], { vad: loudnessVad({ threshold: 100, startFrames: 3, stopMs: 100 }) });
    await conversation.start();
    await until(() => transport.played.length > 40, 'the answer to start');
    await talk(transport, 20, 300);
    await sleep(150);
    stt.session!.emit({ type: 'final', text: 'our clinic offers general medicine' });
    transport.hear(6, 0);
    await playedWhole();
    expect(transport.interruptions).toBe(0);
    expect(llm.requests).toHaveLength(1);
    expect(kinds()).toEqual(['backchannel']);
  });

  it('still stops for the caller talking over its echo', async () => {
    const { conversation, transport, stt, of } = setup([words(answer)], { vad: loudnessVad({ threshold: 100, startFrames: 3, stopMs: 100 }) });
    await conversation.start();
    await until(() => transport.played.length > 40, 'the answer to start');
    await talk(transport, 15, 300); // echo only
    expect(transport.interruptions).toBe(0);
    await talk(transport, 3, 5000);
    stt.session!.emit({ type: 'interim', text: 'hold on' });
    await talk(transport, 4, 5000); // within the same stretch of VAD speech
    await until(() => of('barge_in').length === 1, 'the barge-in');
  });

  it('without the echo margin the same echo stops the bot (the margin is what keeps it talking)', async () => {
    const { conversation, transport } = setup([words(answer)], {
      vad: loudnessVad({ threshold: 100, startFrames: 3, stopMs: 100 }),
      turnConfig: { interruption: { ...fast.interruption, echo_margin_db: 0 } },
    });
    await conversation.start();
    await until(() => transport.played.length > 40, 'the answer to start');
    await talk(transport, 20, 300);
    await until(() => transport.interruptions === 1, 'the pause');
  });

  it('keeps the heard part of the answer when a key is pressed over it', async () => {
    const { conversation, transport, llm, of } = setup([words(answer), words('You pressed five.')]);
    await conversation.start();
    await until(() => transport.played.length > 60, 'part of the answer to be heard');
    conversation.dtmf('5');
    await until(() => llm.requests.length === 2, 'the DTMF turn');
    const heard = of('assistant_message')[0]!;
    expect(heard.interrupted).toBe(true);
    expect(heard.text.length).toBeGreaterThan(0);
    expect(answer.startsWith(heard.text)).toBe(true);
    expect(llm.requests[1]!.slice(-2)).toEqual([
      { role: 'assistant', content: heard.text },
      { role: 'user', content: '[The caller pressed the phone key 5]' },
    ]);
  });

  it('completes a tool call in flight once, keeping its result next to it, when the caller interrupts', async () => {
    const booking: ScriptedAnswer = [
      { type: 'text-delta', text: 'Let me book that for you. ' },
      { type: 'tool-call', id: 'call-1', name: 'set_variables', arguments: '{"variables":{"booked":"tuesday"}}' },
      { type: 'done', finishReason: 'tool-calls' },
    ];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const executed: string[] = [];
    const { conversation, transport, stt, llm, of } = setup([words('Hello.'), booking, words('You are booked for Tuesday. Anything else?')], {
      executeTool: async (call) => {
        executed.push(call.id);
        await released; // the booking takes a while
        return { result: '{"result":"success"}', runLlm: true };
      },
    });
    await conversation.start();
    await until(() => of('assistant_message').length === 1 && transport.queuedMs() === 0, 'the greeting');
    await talk(transport, 10, 5000);
    stt.session!.emit({ type: 'final', text: 'Book me for Tuesday.' });
    transport.hear(6, 0);
    await until(() => executed.length === 1, 'the tool call');
    // The caller talks while the booking runs.
    await talk(transport, 10, 5000);
    stt.session!.emit({ type: 'final', text: 'And send me a text.' });
    transport.hear(6, 0);
    await until(() => of('user_transcript').length === 2, 'the caller\'s words to end their turn');
    await sleep(30);
    expect(llm.requests).toHaveLength(2); // the next answer waits for the booking's result
    release();
    await until(() => llm.requests.length === 3, 'the next answer');
    await sleep(50);
    expect(executed).toEqual(['call-1']);
    expect(of('tool_result')).toHaveLength(1);
    expect(llm.requests).toHaveLength(3); // the interrupted turn did not run the LLM again
    expect(llm.requests[2]!.slice(-4)).toEqual([
      { role: 'user', content: 'Book me for Tuesday.' },
      { role: 'assistant', content: 'Let me book that for you.', toolCalls: [{ id: 'call-1', name: 'set_variables', arguments: '{"variables":{"booked":"tuesday"}}' }] },
      { role: 'tool', toolCallId: 'call-1', name: 'set_variables', content: '{"result":"success"}' },
      { role: 'user', content: 'And send me a text.' },
    ]);
  });
});
