import type { SegmentPlayout } from '../media/output-queue.ts';
import { isProviderError } from '../providers/provider-error.ts';
import type { LlmMessage, LlmToolCall, SttSession } from '../providers/types.ts';
import { BotSpeech } from './bot-speech.ts';
import { createBotTurn, heardText, type BotTurn } from './bot-turn.ts';
import { CallerInput } from './caller-input.ts';
import type { ConversationOptions, ToolExecution, TurnLatency } from './conversation-types.ts';

export type { ConversationEvent, ConversationOptions, ConversationVad, ToolExecution, TurnLatency } from './conversation-types.ts';

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
  private readonly speech: BotSpeech;
  private stt: SttSession | undefined;
  private input: CallerInput | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private current: BotTurn | undefined;
  private turnCounter = 0;
  private ended = false;
  /** Saying a last text before ending (sayAndStop): no new bot turns. */
  private closing = false;
  private readonly playedSegments = new Set<string>();
  private readonly turns = new Set<Promise<void>>();

  constructor(private readonly options: ConversationOptions) {
    this.messages = [...options.messages];
    this.now = options.now ?? (() => performance.now());
    this.speech = new BotSpeech(options, this.now);
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
    const input = new CallerInput(this.options, this.stt, this.now, {
      isEnded: () => this.ended,
      botIsActive: () => this.botIsActive(),
      isClosing: () => this.closing,
      bargeIn: () => this.bargeIn(),
      userTurn: (text, latency) => this.userSaid(text, latency),
      fail: (error, stage) => this.fail(error, stage),
    });
    this.input = input;
    void input.consumeStt();
    this.unsubscribe.push(transport.onAudio((frame) => input.onAudio(frame)));
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
    // Stored like speech, so the conversation on record is the one the LLM saw.
    this.userSaid(`[The caller pressed the phone key ${digit}]`);
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
    const turn = createBotTurn(++this.turnCounter, {}, true);
    this.current = turn;
    const signal = turn.controller.signal;
    try {
      await this.speech.speakText(turn, text);
      turn.done = true;
      if (!signal.aborted) {
        turn.reported = true;
        this.messages.push({ role: 'assistant', content: text });
        this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls: [] });
        await this.speech.drained(signal, 30_000);
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
    this.input?.cancelTimers();
    this.current?.controller.abort(new Error(reason));
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    this.stt?.close();
    this.options.onEvent({ type: 'ended', reason, ...(error ? { error } : {}) });
    await Promise.allSettled([...this.turns]);
  }

  /** The caller said `text` (a finished turn or a key press): stop the bot and answer. */
  private userSaid(text: string, latency: Partial<TurnLatency> = {}): void {
    this.interruptForNewInput();
    this.options.onEvent({ type: 'user_transcript', turn: this.turnCounter + 1, text });
    this.messages.push({ role: 'user', content: text });
    this.startTurn(latency);
  }

  // ---- the bot's turn --------------------------------------------------------------------

  private botIsActive(): boolean {
    return this.current !== undefined && (!this.current.done || this.options.transport.queuedMs() > 0);
  }

  private startTurn(latency: Partial<TurnLatency> = {}): void {
    if (this.ended || this.closing) return;
    const turn = createBotTurn(++this.turnCounter, latency);
    this.current = turn;
    const running = this.runTurn(turn);
    this.turns.add(running);
    void running.finally(() => this.turns.delete(running));
  }

  private async runTurn(turn: BotTurn): Promise<void> {
    const signal = turn.controller.signal;
    try {
      for (let round = 0; round < (this.options.maxToolRounds ?? 5); round++) {
        const spoken = await this.speech.speakRound(turn, round, this.messages);
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

        const { runAgain, endSession } = await this.runTools(turn, toolCalls);
        if (endSession) {
          await this.speech.drained(signal);
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
      this.speech.reportLatency(turn);
    }
  }

  /** Runs a round's tool calls in order, their results into the history. */
  private async runTools(turn: BotTurn, toolCalls: LlmToolCall[]): Promise<{ runAgain: boolean; endSession?: string }> {
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
    return { runAgain, endSession };
  }

  // ---- what the caller heard -------------------------------------------------------------

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
    const heard = heardText(turn, this.playedSegments, playouts);
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

  /** Reports a finished answer once its audio has played (unless a barge-in reported it first). */
  private async reportWhenPlayed(turn: BotTurn): Promise<void> {
    await this.speech.drained(turn.controller.signal);
    if (turn.pendingMessage === undefined) return;
    const text = turn.pendingMessage;
    turn.pendingMessage = undefined;
    turn.reported = true;
    this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls: [] });
  }

  private fail(error: unknown, stage: 'stt' | 'llm' | 'vad'): void {
    if (this.ended) return;
    const details = isProviderError(error)
      ? { category: error.category, message: error.message, provider: (error as { provider?: string }).provider }
      : { category: stage === 'vad' ? 'internal' : 'unknown', message: error instanceof Error ? error.message : String(error) };
    void this.stop(`${stage} failed: ${details.message}`, details);
  }
}
