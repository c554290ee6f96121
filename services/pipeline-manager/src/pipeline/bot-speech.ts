import { FRAME_SAMPLES, type AudioFrame } from '../media/audio-format.ts';
import type { LlmMessage, LlmToolCall, TtsEvent } from '../providers/types.ts';
import type { BotTurn } from './bot-turn.ts';
import type { ConversationOptions } from './conversation-types.ts';
import { SentenceSplitter } from './sentence-splitter.ts';
import { openWatchedTts, type WatchedTtsSession } from './stall-watched-tts.ts';
import { stallAttempts, stallSettings, watchLlmStream, type StallAction, type StallSettings } from './stall-watchdog.ts';

/**
 * The bot's voice: an LLM response spoken as it streams (sentences to TTS, TTS audio in
 * 20 ms frames to the transport, one output segment per sentence), with the turn's latency
 * and usage reported along the way.
 */
export class BotSpeech {
  /** The AI's stall settings (turn_config.stall with defaults). */
  stall: StallSettings;

  constructor(
    private readonly options: ConversationOptions,
    private readonly now: () => number,
  ) {
    this.stall = stallSettings(options.turnConfig?.stall);
  }

  /** A team member took over: its stall settings (in the options) watch the rounds from the next on. */
  reconfigure(): void {
    this.stall = stallSettings(this.options.turnConfig?.stall);
  }

  /** One LLM response to `messages` spoken as it streams: sentences to TTS, audio to the caller. */
  async speakRound(turn: BotTurn, round: number, messages: readonly LlmMessage[]): Promise<{ text: string; toolCalls: LlmToolCall[] }> {
    const signal = turn.controller.signal;
    const { llm } = this.options;
    turn.sentences = [];
    turn.reported = false;
    const session = this.openTts(turn, this.stall.fillerText);
    const pump = this.pumpAudio(turn, round, session);
    pump.catch(() => undefined);

    const splitter = new SentenceSplitter();
    const toolCalls: LlmToolCall[] = [];
    let text = '';
    let reported = 0;
    let lastReport = this.now();
    const speak = (sentence: string) => {
      const index = session.push(sentence);
      turn.sentences[index] = { text: sentence, segmentId: `${turn.turn}:${round}:${index}` };
    };
    turn.latency.llmRequestAt ??= this.now();
    let provider = llm.name;
    const stream = watchLlmStream(stallAttempts(llm, this.options.fallbackLlm), { messages: [...messages], tools: this.options.tools, signal }, {
      timeoutMs: this.stall.timeoutMs,
      report: (action, stalled) => this.reportStall(turn, 'llm', action, stalled),
      filler: () => this.sayFiller(session),
      onProvider: (name) => (provider = name),
    });
    try {
      for await (const event of stream) {
        if (signal.aborted) break;
        switch (event.type) {
          case 'text-delta':
            turn.latency.llmFirstTokenAt ??= this.now();
            text += event.text;
            for (const sentence of splitter.push(event.text)) speak(sentence);
            if (this.now() - lastReport >= (this.options.intermediateIntervalMs ?? 200) && text.length > reported) {
              this.options.onEvent({ type: 'assistant_text', turn: turn.turn, text, final: false });
              reported = text.length;
              lastReport = this.now();
            }
            break;
          case 'tool-call':
            turn.latency.llmFirstTokenAt ??= this.now();
            toolCalls.push({ id: event.id, name: event.name, arguments: event.arguments });
            break;
          case 'usage':
            this.options.onEvent({ type: 'usage', kind: 'llm', provider, inputTokens: event.inputTokens, outputTokens: event.outputTokens });
            break;
          default:
            break;
        }
      }
    } finally {
      const rest = splitter.flush();
      if (rest && !signal.aborted) speak(rest);
      session.end();
    }
    await pump;
    if (text !== '' && !signal.aborted) this.options.onEvent({ type: 'assistant_text', turn: turn.turn, text, final: true });
    return { text, toolCalls };
  }

  /** Speaks a given text (not the LLM's) as one segment; resolves once TTS delivered all of it. */
  async speakText(turn: BotTurn, text: string): Promise<void> {
    const speech = this.openTts(turn, '');
    const pump = this.pumpAudio(turn, 0, speech);
    const index = speech.push(text);
    turn.sentences[index] = { text, segmentId: `${turn.turn}:0:${index}` };
    speech.end();
    await pump;
  }

  reportLatency(turn: BotTurn): void {
    if (turn.latencyReported) return;
    turn.latencyReported = true;
    this.options.onEvent({ type: 'turn_latency', ...turn.latency });
  }

  /** Waits until the caller has heard everything queued (or the turn is aborted). */
  async drained(signal: AbortSignal, timeoutMs = 60_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!signal.aborted && this.options.transport.queuedMs() > 0 && this.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The turn's TTS session under the stall watchdog (`fillerText` '' = no filler from the fallback engine). */
  private openTts(turn: BotTurn, fillerText: string): WatchedTtsSession {
    const options = { voiceId: this.options.voiceId, language: this.options.language, signal: turn.controller.signal };
    return openWatchedTts(this.options.tts, this.options.fallbackTts, options, {
      timeoutMs: this.stall.timeoutMs,
      fillerText,
      report: (action, stalled) => this.reportStall(turn, 'tts', action, stalled),
    });
  }

  /**
   * The filler, in the turn's TTS session before the answer. Not an answer: it is kept out of
   * the turn's sentences, so it is neither stored nor in the history.
   */
  private sayFiller(session: WatchedTtsSession): boolean {
    if (this.stall.fillerText === '') return false;
    session.push(this.stall.fillerText);
    return true;
  }

  private reportStall(turn: BotTurn, stage: 'llm' | 'tts', action: StallAction, provider: string): void {
    if (turn.controller.signal.aborted) return;
    this.options.onEvent({ type: 'stall', turn: turn.turn, stage, action, provider });
  }

  /** TTS audio to 20 ms frames on the transport, one output segment per sentence. */
  private async pumpAudio(turn: BotTurn, round: number, session: WatchedTtsSession): Promise<void> {
    const events: AsyncIterable<TtsEvent> = session.events;
    const { transport } = this.options;
    const signal = turn.controller.signal;
    const partial = new Int16Array(FRAME_SAMPLES);
    let filled = 0;
    let segment = '';
    const flushPartial = () => {
      if (filled === 0) return;
      partial.fill(0, filled);
      this.sendFrame(turn, partial, segment);
      filled = 0;
    };
    for await (const event of events) {
      if (signal.aborted) return;
      if (event.type === 'usage') {
        this.options.onEvent({ type: 'usage', kind: 'tts', provider: session.provider, characters: event.characters });
        continue;
      }
      const segmentId = `${turn.turn}:${round}:${event.textIndex}`;
      if (event.type === 'text-end') {
        if (segment === segmentId) flushPartial();
        transport.endSegment(segmentId);
        continue;
      }
      turn.latency.ttsFirstByteAt ??= this.now();
      if (segment !== segmentId) {
        if (segment) flushPartial();
        segment = segmentId;
      }
      let offset = 0;
      while (offset < event.pcm.length) {
        const take = Math.min(FRAME_SAMPLES - filled, event.pcm.length - offset);
        partial.set(event.pcm.subarray(offset, offset + take), filled);
        filled += take;
        offset += take;
        if (filled === FRAME_SAMPLES) {
          this.sendFrame(turn, partial, segment);
          filled = 0;
        }
      }
    }
    flushPartial();
  }

  private sendFrame(turn: BotTurn, frame: AudioFrame, segmentId: string): void {
    if (turn.controller.signal.aborted) return;
    this.options.transport.send(frame, segmentId);
    if (turn.latency.firstAudioAt === undefined) {
      turn.latency.firstAudioAt = this.now();
      this.reportLatency(turn);
    }
  }
}
