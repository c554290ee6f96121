import { FRAME_SAMPLES, type AudioFrame } from '../media/audio-format.ts';
import type { MediaTransport } from '../media/media-transport.ts';
import type { SegmentPlayout } from '../media/output-queue.ts';
import type { VadEvent } from '../media/vad/voice-activity-detector.ts';
import { isProviderError } from '../providers/provider-error.ts';
import type {
  LlmMessage,
  LlmProvider,
  LlmToolCall,
  LlmToolDefinition,
  SttProvider,
  SttSession,
  TtsEvent,
  TtsProvider,
} from '../providers/types.ts';
import { heardPart } from './heard-text.ts';
import { SentenceSplitter } from './sentence-splitter.ts';

/** What the conversation needs of a voice activity detector (the media engine's fits). */
export interface ConversationVad {
  process(frame: AudioFrame): Promise<readonly VadEvent[]>;
}

/** The result of one tool call, as ai-manager's tool execution answers. */
export interface ToolExecution {
  /** The text (JSON) given back to the LLM. */
  result: string;
  /** Whether the LLM runs again after this tool. */
  runLlm: boolean;
  /** Set by tools that end the session (stop_service, stop_flow, connect_call). */
  endSession?: string;
}

/** Timestamps (ms on the conversation's clock) of one turn, from the caller's silence to our first audio. */
export interface TurnLatency {
  turn: number;
  userStoppedAt?: number;
  sttFinalAt?: number;
  llmRequestAt?: number;
  llmFirstTokenAt?: number;
  ttsFirstByteAt?: number;
  firstAudioAt?: number;
}

/** What the conversation reports as it goes (to be persisted and published by the caller). */
export type ConversationEvent =
  | { type: 'user_transcript'; turn: number; text: string }
  | { type: 'assistant_text'; turn: number; text: string; final: boolean }
  | { type: 'assistant_message'; turn: number; text: string; interrupted: boolean; toolCalls: LlmToolCall[] }
  | { type: 'tool_call'; turn: number; call: LlmToolCall }
  | { type: 'tool_result'; turn: number; call: LlmToolCall; result: string }
  | { type: 'usage'; kind: 'llm' | 'stt' | 'tts'; provider: string; inputTokens?: number; outputTokens?: number; characters?: number; audioSeconds?: number }
  | ({ type: 'turn_latency' } & TurnLatency)
  | { type: 'barge_in'; turn: number; heardText: string; decidedAt: number; stoppedAt: number }
  | { type: 'ended'; reason: string; error?: { category: string; message: string; provider?: string } };

export interface ConversationOptions {
  transport: MediaTransport;
  vad: ConversationVad;
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
  /** BCP-47 tag or '' (auto). */
  language: string;
  voiceId: string;
  /** The history to start from: system prompts first (and earlier messages, if any). */
  messages: LlmMessage[];
  tools: LlmToolDefinition[];
  executeTool(call: LlmToolCall): Promise<ToolExecution>;
  onEvent(event: ConversationEvent): void;
  /** What ends the caller's turn: STT endpointing, VAD silence, or whichever comes first (default). */
  turnEnd?: 'stt' | 'vad' | 'either';
  /** Caller speech must last this long (beyond VAD's start_secs) to interrupt the bot (default 0). */
  interruptionMinMs?: number;
  /** The bot speaks first (default true). */
  greeting?: boolean;
  /** How often streamed assistant text is reported (default 200 ms). */
  intermediateIntervalMs?: number;
  /** After VAD silence without a final transcript, how long to wait for one (default 1500 ms). */
  transcriptWaitMs?: number;
  /** Tool rounds in one turn before the turn is cut short (default 5). */
  maxToolRounds?: number;
  now?: () => number;
}

interface Sentence {
  text: string;
  segmentId: string;
  /** Every frame was played. */
  played: boolean;
}

interface BotTurn {
  turn: number;
  controller: AbortController;
  latency: TurnLatency;
  latencyReported: boolean;
  /** Sentences of the round being spoken, by TTS text index. */
  sentences: Sentence[];
  done: boolean;
  /** The answer, reported once the caller has heard all of it (or cut by a barge-in). */
  pendingMessage?: string;
  /** The current round's assistant message has been reported. */
  reported: boolean;
}

/**
 * One live voice conversation: caller audio goes to VAD and STT; a finished caller turn
 * runs the LLM, whose text is cut into sentences and spoken sentence by sentence while the
 * LLM is still writing; tool calls go out and their results back to the LLM; caller speech
 * over the bot (barge-in) aborts the LLM, TTS and queued audio at once and keeps in the
 * history only what the caller heard.
 */
export class Conversation {
  private readonly messages: LlmMessage[];
  private readonly now: () => number;
  private stt: SttSession | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private current: BotTurn | undefined;
  private turnCounter = 0;
  private userFinals: string[] = [];
  private userSpeaking = false;
  private userStoppedAt: number | undefined;
  private sttFinalAt: number | undefined;
  private waitingForTranscript: NodeJS.Timeout | undefined;
  private interruptionTimer: NodeJS.Timeout | undefined;
  private ended = false;
  /** Saying a last text before ending (sayAndStop): no new bot turns. */
  private closing = false;
  private readonly playedSegments = new Set<string>();
  private readonly turns = new Set<Promise<void>>();

  constructor(private readonly options: ConversationOptions) {
    this.messages = [...options.messages];
    this.now = options.now ?? (() => performance.now());
  }

  /** The history so far (what the LLM sees next). */
  history(): readonly LlmMessage[] {
    return this.messages;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Opens STT, starts listening and, unless disabled, lets the bot greet. */
  async start(): Promise<void> {
    const { transport } = this.options;
    try {
      this.stt = await this.options.stt.start({ language: this.options.language, sampleRate: 16_000 });
    } catch (error) {
      this.fail(error, 'stt');
      return;
    }
    void this.consumeStt(this.stt);
    this.unsubscribe.push(transport.onAudio((frame) => this.onAudio(frame)));
    this.unsubscribe.push(transport.onSegmentPlayed((playout) => this.onSegmentPlayed(playout)));
    this.unsubscribe.push(transport.onClose((reason) => void this.stop(`media closed: ${reason}`)));
    if (this.options.greeting ?? true) this.startTurn();
  }

  /** Text from outside (an injected message): a user message, answered like speech. */
  sendText(text: string): void {
    if (this.ended) return;
    this.interruptForNewInput();
    this.messages.push({ role: 'user', content: text });
    this.startTurn();
  }

  /** A DTMF digit from the caller reaches the LLM as a user event. */
  dtmf(digit: string): void {
    if (this.ended) return;
    this.interruptForNewInput();
    const text = `[The caller pressed the phone key ${digit}]`;
    // Stored like speech, so the conversation on record is the one the LLM saw.
    this.options.onEvent({ type: 'user_transcript', turn: this.turnCounter + 1, text });
    this.messages.push({ role: 'user', content: text });
    this.startTurn();
  }

  /**
   * Says `text` (not the LLM's: e.g. billing's goodbye), cutting off whatever the bot was
   * saying, then ends with `reason` once the caller has heard it (at most 30 s). Caller
   * speech neither interrupts it nor gets an answer. Best effort: a TTS failure still ends
   * the conversation.
   */
  async sayAndStop(text: string, reason: string): Promise<void> {
    if (this.ended || this.closing) return;
    this.closing = true;
    if (this.botIsActive()) this.bargeIn(false);
    const turn: BotTurn = {
      turn: ++this.turnCounter,
      controller: new AbortController(),
      latency: { turn: this.turnCounter },
      latencyReported: true,
      sentences: [],
      done: false,
      reported: false,
    };
    this.current = turn;
    const signal = turn.controller.signal;
    try {
      const speech = this.options.tts.open({ voiceId: this.options.voiceId, language: this.options.language, signal });
      const pump = this.pumpAudio(turn, 0, speech.events, this.options.transport);
      const index = speech.push(text);
      turn.sentences[index] = { text, segmentId: `${turn.turn}:0:${index}`, played: false };
      speech.end();
      await pump;
      turn.done = true;
      if (!signal.aborted) {
        turn.reported = true;
        this.messages.push({ role: 'assistant', content: text });
        this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls: [] });
        await this.drained(signal, 30_000);
      }
    } catch {
      // The goodbye could not be spoken; the conversation ends all the same.
    } finally {
      turn.done = true;
    }
    await this.stop(reason);
  }

  /** Ends the conversation: aborts what runs, closes STT, reports `ended` once. */
  async stop(reason: string, error?: { category: string; message: string; provider?: string }): Promise<void> {
    if (this.ended) return;
    // An answer still being spoken is recorded as far as the caller heard it.
    if (this.current && !this.current.reported) this.bargeIn(false);
    this.ended = true;
    clearTimeout(this.waitingForTranscript);
    clearTimeout(this.interruptionTimer);
    this.current?.controller.abort(new Error(reason));
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.stt?.close();
    this.options.onEvent({ type: 'ended', reason, ...(error ? { error } : {}) });
    await Promise.allSettled([...this.turns]);
  }

  // ---- input ---------------------------------------------------------------------------

  private onAudio(frame: AudioFrame): void {
    if (this.ended) return;
    this.stt?.write(frame);
    this.options.vad.process(frame).then(
      (events) => {
        for (const event of events) this.onVad(event);
      },
      (error: unknown) => this.fail(error, 'vad'),
    );
  }

  private onVad(event: VadEvent): void {
    if (this.ended) return;
    if (event.type === 'user-started-speaking') {
      this.userSpeaking = true;
      // A last text (sayAndStop) is not cut off: the caller hears why the call ends.
      if (!this.botIsActive() || this.closing) return;
      const minimum = this.options.interruptionMinMs ?? 0;
      if (minimum <= 0) {
        this.bargeIn();
        return;
      }
      clearTimeout(this.interruptionTimer);
      this.interruptionTimer = setTimeout(() => {
        if (this.userSpeaking && this.botIsActive()) this.bargeIn();
      }, minimum);
      return;
    }
    this.userSpeaking = false;
    clearTimeout(this.interruptionTimer);
    this.userStoppedAt = this.now();
    this.endUserTurn('vad');
  }

  private async consumeStt(session: SttSession): Promise<void> {
    try {
      for await (const event of session.events) {
        if (this.ended) return;
        switch (event.type) {
          case 'final':
            if (event.text.trim() !== '') {
              this.userFinals.push(event.text.trim());
              this.sttFinalAt = this.now();
              if (this.waitingForTranscript) {
                clearTimeout(this.waitingForTranscript);
                this.waitingForTranscript = undefined;
                this.endUserTurn('vad');
              }
            }
            break;
          case 'endpoint':
            this.endUserTurn('stt');
            break;
          case 'usage':
            this.options.onEvent({ type: 'usage', kind: 'stt', provider: this.options.stt.name, audioSeconds: event.audioSeconds });
            break;
          case 'error':
            this.fail(event.error, 'stt');
            return;
          case 'interim':
            break;
        }
      }
    } catch (error) {
      this.fail(error, 'stt');
    }
  }

  /** The caller's turn is over when the configured signal says so and there is text. */
  private endUserTurn(source: 'stt' | 'vad'): void {
    const policy = this.options.turnEnd ?? 'either';
    if (policy !== 'either' && policy !== source) return;
    if (this.userSpeaking && source === 'stt' && policy === 'either') {
      // STT heard an end while VAD still hears speech: let VAD decide.
      return;
    }
    const text = this.userFinals.join(' ').trim();
    if (text === '') {
      if (source === 'vad' && !this.waitingForTranscript) {
        this.waitingForTranscript = setTimeout(() => {
          this.waitingForTranscript = undefined;
        }, this.options.transcriptWaitMs ?? 1500);
      }
      return;
    }
    clearTimeout(this.waitingForTranscript);
    this.waitingForTranscript = undefined;
    this.userFinals = [];
    this.interruptForNewInput();
    const turn = this.turnCounter + 1;
    this.options.onEvent({ type: 'user_transcript', turn, text });
    this.messages.push({ role: 'user', content: text });
    this.startTurn({ userStoppedAt: this.userStoppedAt, sttFinalAt: this.sttFinalAt });
  }

  // ---- the bot's turn --------------------------------------------------------------------

  private botIsActive(): boolean {
    return this.current !== undefined && (!this.current.done || this.options.transport.queuedMs() > 0);
  }

  private startTurn(latency: Partial<TurnLatency> = {}): void {
    if (this.ended || this.closing) return;
    const turn: BotTurn = {
      turn: ++this.turnCounter,
      controller: new AbortController(),
      latency: { turn: this.turnCounter, ...latency },
      latencyReported: false,
      sentences: [],
      done: false,
      reported: false,
    };
    this.current = turn;
    const running = this.runTurn(turn);
    this.turns.add(running);
    void running.finally(() => this.turns.delete(running));
  }

  private async runTurn(turn: BotTurn): Promise<void> {
    const signal = turn.controller.signal;
    try {
      for (let round = 0; round < (this.options.maxToolRounds ?? 5); round++) {
        const spoken = await this.speakRound(turn, round);
        const text = spoken.text.trim();
        const { toolCalls } = spoken;
        if (signal.aborted) return;
        if (toolCalls.length === 0) {
          // Reported when the caller has heard it all; a barge-in reports what was heard instead.
          this.messages.push({ role: 'assistant', content: text });
          turn.pendingMessage = text;
          void this.reportWhenPlayed(turn);
          return;
        }
        this.messages.push({ role: 'assistant', content: text, toolCalls });
        turn.reported = true;
        this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls });

        let runAgain = false;
        let endSession: string | undefined;
        for (const call of toolCalls) {
          this.options.onEvent({ type: 'tool_call', turn: turn.turn, call });
          let execution: ToolExecution;
          try {
            execution = await this.options.executeTool(call);
          } catch (error) {
            execution = { result: JSON.stringify({ result: 'failed', message: error instanceof Error ? error.message : String(error) }), runLlm: true };
          }
          this.messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: execution.result });
          this.options.onEvent({ type: 'tool_result', turn: turn.turn, call, result: execution.result });
          runAgain ||= execution.runLlm;
          endSession ??= execution.endSession;
        }
        if (endSession) {
          await this.drained(signal);
          await this.stop(endSession);
          return;
        }
        if (!runAgain || signal.aborted) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      this.fail(error, 'llm');
    } finally {
      turn.done = true;
      this.reportLatency(turn);
    }
  }

  /** One LLM response spoken as it streams: sentences to TTS, audio to the caller. */
  private async speakRound(turn: BotTurn, round: number): Promise<{ text: string; toolCalls: LlmToolCall[] }> {
    const signal = turn.controller.signal;
    const { llm, tts, transport } = this.options;
    turn.sentences = [];
    turn.reported = false;
    const session = tts.open({ voiceId: this.options.voiceId, language: this.options.language, signal });
    const pump = this.pumpAudio(turn, round, session.events, transport);
    pump.catch(() => undefined);

    const splitter = new SentenceSplitter();
    const toolCalls: LlmToolCall[] = [];
    let text = '';
    let reported = 0;
    let lastReport = this.now();
    const speak = (sentence: string) => {
      const index = session.push(sentence);
      turn.sentences[index] = { text: sentence, segmentId: `${turn.turn}:${round}:${index}`, played: false };
    };
    turn.latency.llmRequestAt ??= this.now();
    try {
      for await (const event of llm.stream({ messages: [...this.messages], tools: this.options.tools, signal })) {
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
            this.options.onEvent({ type: 'usage', kind: 'llm', provider: llm.name, inputTokens: event.inputTokens, outputTokens: event.outputTokens });
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

  /** TTS audio to 20 ms frames on the transport, one output segment per sentence. */
  private async pumpAudio(
    turn: BotTurn,
    round: number,
    events: AsyncIterable<TtsEvent>,
    transport: MediaTransport,
  ): Promise<void> {
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
        this.options.onEvent({ type: 'usage', kind: 'tts', provider: this.options.tts.name, characters: event.characters });
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

  private reportLatency(turn: BotTurn): void {
    if (turn.latencyReported) return;
    turn.latencyReported = true;
    this.options.onEvent({ type: 'turn_latency', ...turn.latency });
  }

  private onSegmentPlayed(playout: SegmentPlayout): void {
    if (playout.droppedMs === 0) this.playedSegments.add(playout.segmentId);
  }

  /**
   * Caller speech over the bot: everything of the bot's turn stops now (LLM, TTS, queued
   * audio) and the history keeps only the words the caller heard.
   */
  private bargeIn(asBargeIn = true): void {
    const turn = this.current;
    if (!turn) return;
    const decidedAt = this.now();
    turn.controller.abort(new Error('barge-in'));
    const playouts = this.options.transport.interrupt();
    const stoppedAt = this.now();
    this.current = undefined;
    const heard = this.heardText(turn, playouts);
    if (turn.reported) {
      // Already reported (a message with tool calls): nothing to add.
    } else if (!turn.done) {
      // The turn was cut short: its (partial) answer goes into the history as heard.
      turn.reported = true;
      this.messages.push({ role: 'assistant', content: heard });
      this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text: heard, interrupted: true, toolCalls: [] });
    } else if (turn.pendingMessage !== undefined) {
      turn.reported = true;
      // Written in full but still playing: the history and the report keep what was heard.
      turn.pendingMessage = undefined;
      const last = this.messages.at(-1);
      if (last?.role === 'assistant' && !last.toolCalls) last.content = heard;
      this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text: heard, interrupted: true, toolCalls: [] });
    }
    if (asBargeIn) this.options.onEvent({ type: 'barge_in', turn: turn.turn, heardText: heard, decidedAt, stoppedAt });
  }

  /** New input (DTMF, text, a new caller turn) while the bot talks: stop it, keep what was heard. */
  private interruptForNewInput(): void {
    if (this.botIsActive() && !this.closing) this.bargeIn();
  }

  private heardText(turn: BotTurn, playouts: SegmentPlayout[]): string {
    const cut = new Map(playouts.map((playout) => [playout.segmentId, playout]));
    const parts: string[] = [];
    for (const sentence of turn.sentences) {
      if (!sentence) continue;
      if (this.playedSegments.has(sentence.segmentId)) {
        parts.push(sentence.text);
        continue;
      }
      const playout = cut.get(sentence.segmentId);
      if (!playout) break;
      const total = playout.playedMs + playout.droppedMs;
      const part = heardPart(sentence.text, total > 0 ? playout.playedMs / total : 0);
      if (part) parts.push(part);
      break;
    }
    return parts.join(' ');
  }

  /** Reports a finished answer once its audio has played (unless a barge-in reported it first). */
  private async reportWhenPlayed(turn: BotTurn): Promise<void> {
    await this.drained(turn.controller.signal);
    if (turn.pendingMessage === undefined) return;
    const text = turn.pendingMessage;
    turn.pendingMessage = undefined;
    turn.reported = true;
    this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls: [] });
  }

  /** Waits until the caller has heard everything queued (or the turn is aborted). */
  private async drained(signal: AbortSignal, timeoutMs = 60_000): Promise<void> {
    const deadline = this.now() + timeoutMs;
    while (!signal.aborted && this.options.transport.queuedMs() > 0 && this.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private fail(error: unknown, stage: 'stt' | 'llm' | 'vad'): void {
    if (this.ended) return;
    const details = isProviderError(error)
      ? { category: error.category, message: error.message, provider: (error as { provider?: string }).provider }
      : { category: stage === 'vad' ? 'internal' : 'unknown', message: error instanceof Error ? error.message : String(error) };
    void this.stop(`${stage} failed: ${details.message}`, details);
  }
}
