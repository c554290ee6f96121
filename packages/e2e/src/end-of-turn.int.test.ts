import type { LlmProvider } from '@avp/pipeline-manager';
import { registryProviders } from '@avp/pipeline-manager';
import { scriptedStt, typicalLlm } from '@avp/pipeline-manager/turn-testing';
import type { EventEnvelope } from '@avp/shared';
import { eventually } from '@avp/shared/testing';
import { beforeAll, expect, it } from 'vitest';
import { aiTalkActions, describeModes, useStack, type Api } from './testing/stack.ts';
import { loudnessVad } from './voice-doubles.ts';

/** A tone the VAD and STT doubles take for speech. */
const tone = (seconds: number): Int16Array =>
  Int16Array.from({ length: Math.round(16_000 * seconds) }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)));

/** Speech in pieces with silent pauses between them (ms), as one stretch of audio. */
function withPauses(pieces: number[], pausesMs: number[]): Int16Array {
  const parts = pieces.flatMap((seconds, index) => [tone(seconds), new Int16Array(Math.round(((pausesMs[index] ?? 0) * 16_000) / 1000))]);
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The end of the caller's turn through all three services and the Asterisk simulator, with the
 * AI's own `turn_config` (set through the API): an answer prepared during a pause is dropped
 * unheard when the caller goes on, and the answer to the whole sentence is the only one heard
 * and stored; an unfinished sentence ("my number is four one five") is waited for through a
 * pause that ends a finished one. VAD and STT are doubles (the STT gives each stretch of speech
 * the next piece of the script); the LLM's first token comes 300 ms after each request.
 */
await describeModes('end of turn through the simulator', (mode) => {
  const pipelineEvents: EventEnvelope[] = [];
  /** What the STT double recognises, one entry per stretch of speech, per test. */
  const pieces: string[] = [];
  /** The answering requests the LLM double saw (prepared-ahead ones included). */
  const asked: string[] = [];

  const llm = typicalLlm({ firstTokenMs: 300, greeting: 'Hello, how can I help?', answer: 'Of course, I can do that.' });
  const countingLlm: LlmProvider = {
    name: llm.name,
    stream(request) {
      const user = request.messages.filter((message) => message.role === 'user').at(-1);
      if (user && 'content' in user) asked.push(String(user.content));
      return llm.stream(request);
    },
  };

  const stack = useStack({
    mode,
    name: 'endturn',
    ariApp: 'endturn',
    pipelineManager: {
      createVad: async () => loudnessVad(),
      providers: {
        ...registryProviders,
        llm: () => countingLlm,
        stt: () => scriptedStt({ script: pieces.splice(0), finalLatencyMs: 100 }),
      },
    },
  });
  const api: Api = (...args) => stack.api(...args);

  beforeAll(async () => {
    await stack.bus.subscribe('pipeline-manager', ['#'], async (event) => void pipelineEvents.push(event), { queue: 'e2e-endturn-pipeline-events' });
  });

  async function callAi(turnConfig: object) {
    const ai = await api('POST', '/v1.0/ais', {
      name: 'end of turn',
      engine_model: 'openai.gpt-test',
      init_prompt: 'You are the receptionist of a clinic.',
      tts_type: 'local',
      stt_language: 'en-US',
      turn_config: turnConfig,
    });
    expect(ai.turn_config).toEqual(turnConfig);
    const number = await stack.numberWithFlow(aiTalkActions(ai.id));
    const caller = stack.simulator.placeCall({ app: 'endturn', extension: number, callerNumber: '+15559990001' });
    await caller.waitForAnswer(10_000);
    let aicallId = '';
    await eventually(async () => {
      const aicalls = (await api('GET', '/v1.0/aicalls')) as { result: { id: string; assistance_id: string; ai_turn_config: object }[] };
      const found = aicalls.result.find((entry) => entry.assistance_id === ai.id);
      aicallId = found?.id ?? '';
      if (found) expect(found.ai_turn_config).toEqual(turnConfig);
      return aicallId !== '';
    }, 'the AIcall', 20_000);
    const stored = async () =>
      ((await api('GET', `/v1.0/aimessages?aicall_id=${aicallId}&page_size=100`)) as { result: { role: string; content: string }[] }).result.slice().reverse();
    await eventually(async () => (await stored()).some((message) => message.content === 'Hello, how can I help?'), 'the greeting to be played', 20_000);
    await caller.waitForSilence(10_000);
    /** Says `audio`; true when the caller heard the AI before it had finished. */
    const say = async (audio: Int16Array) => {
      let heard = false;
      const onAudio = () => (heard = true);
      caller.on('audioStart', onAudio);
      await caller.play(audio);
      caller.off('audioStart', onAudio);
      return heard;
    };
    return { caller, aicallId, stored, say };
  }

  const turnLatencies = (aicallId: string) =>
    pipelineEvents.filter((event) => event.type === 'pipeline_turn_latency' && (event.data as { aicall_id: string }).aicall_id === aicallId).map((event) => event.data as { turn: number; preemptive?: boolean });

  it('drops an answer prepared during a pause when the caller goes on, and waits through a pause after an unfinished sentence', async () => {
    asked.length = 0;
    pieces.splice(0, pieces.length, 'I need an appointment', 'for tomorrow morning.', 'my number is four one five', 'five five five one two one two.');
    const { caller, aicallId, stored, say } = await callAi({ end_of_turn: { preemptive_pause_secs: 0.1, complete_stop_secs: 1, incomplete_stop_secs: 2.5 } });
    const answered = (count: number) =>
      eventually(async () => (await stored()).filter((message) => message.content === 'Of course, I can do that.').length === count, `answer ${count} to be stored`, 20_000);

    // 0.6 s into the pause the answer to "I need an appointment" is being prepared; the caller goes on.
    expect(await say(withPauses([0.6, 0.6], [600]))).toBe(false);
    await caller.waitForAudio(10_000);
    await answered(1);
    await caller.waitForSilence(10_000);
    expect(asked).toEqual(['I need an appointment', 'I need an appointment for tomorrow morning.']);
    await eventually(() => turnLatencies(aicallId).some((latency) => latency.turn === 2), 'the turn latency');
    expect(turnLatencies(aicallId).find((latency) => latency.turn === 2)?.preemptive).toBe(true);

    // A 1.5 s pause after an unfinished number: longer than complete_stop_secs, shorter than incomplete_stop_secs.
    expect(await say(withPauses([0.6, 0.8], [1500]))).toBe(false);
    await caller.waitForAudio(10_000);
    await answered(2);
    const messages = (await stored()).filter((message) => message.role === 'user' || message.role === 'assistant');
    expect(messages.map((message) => `${message.role}: ${message.content}`)).toEqual([
      'assistant: Hello, how can I help?',
      'user: I need an appointment for tomorrow morning.',
      'assistant: Of course, I can do that.',
      'user: my number is four one five five five five one two one two.',
      'assistant: Of course, I can do that.',
    ]);
    caller.hangup();
  }, 90_000);
});
