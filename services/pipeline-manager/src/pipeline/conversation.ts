import type { LlmMessage, SttSession } from '../providers/types.ts';
import { AnswerRecord } from './answer-record.ts';
import { BotSpeech } from './bot-speech.ts';
import { createBotTurn, type BotTurn } from './bot-turn.ts';
import { CallerInput } from './caller-input.ts';
import { failureDetails } from './conversation-failures.ts';
import { applyMember, replaceSystemPrompts } from './conversation-members.ts';
import { createInterruptionPolicy, type InterruptionPolicy } from './interruption.ts';
import { ResumableOutput } from './resumable-output.ts';
import type { ConversationOptions, MemberSwitch, TurnLatency } from './conversation-types.ts';
import { discardPrepared, PreemptiveAnswer } from './preemptive-answer.ts';
import { SessionLimits } from './session-limits.ts';
import { isStallError, type StallError } from './stall-watchdog.ts';
import { runToolRound } from './tool-round.ts';

export type { ConversationEvent, ConversationOptions, ConversationVad, MemberSwitch, ToolExecution, TurnLatency } from './conversation-types.ts';

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
  private input: CallerInput | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private current: BotTurn | undefined;
  private turnCounter = 0;
  private ended = false;
  /** Saying a last text before ending (sayAndStop): no new bot turns. */
  private closing = false;
  /** What the caller heard of the bot's answers, into the history and the reports. */
  private readonly record: AnswerRecord;
  private readonly turns = new Set<Promise<void>>();
  /** An answer being prepared before the end of the caller's turn is decided (not yet heard). */
  private preempted: { answer: PreemptiveAnswer; turn: BotTurn } | undefined;

  private readonly options: ConversationOptions;
  /** The transport as every part of the conversation uses it: an interruption can pause it. */
  private readonly output: ResumableOutput;
  private readonly interruption: InterruptionPolicy;
  /** The tool calls of the last round, until their results are in the history. */
  private toolsInFlight: Promise<unknown> = Promise.resolve();
  /** The time limit and no-input re-prompts (session-limits.ts), once listening. */
  private limits: SessionLimits | undefined;

  constructor(options: ConversationOptions) {
    this.now = options.now ?? (() => performance.now());
    this.output = new ResumableOutput(options.transport, this.now);
    this.options = { ...options, transport: this.output };
    this.messages = [...options.messages];
    this.speech = new BotSpeech(this.options, this.now);
    this.record = new AnswerRecord(this.messages, this.options, this.speech);
    this.interruption = createInterruptionPolicy(this.options, this.output, {
      botIsActive: () => this.botIsActive(),
      isClosing: () => this.closing,
      bargeIn: () => this.bargeIn(),
      turn: () => this.current?.turn ?? this.turnCounter,
    });
  }

  /** The history so far (what the LLM sees next). */
  history(): readonly LlmMessage[] {
    return this.messages;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Whether the bot is taking its turn (writing or speaking): dying now would lose that answer. */
  get speaking(): boolean {
    return !this.ended && this.botIsActive();
  }

  /** Opens STT, starts listening and, unless disabled, lets the bot greet. */
  async start(): Promise<void> {
    const { transport } = this.options;
    let stt: SttSession;
    try {
      stt = await this.options.stt.start({ language: this.options.language, sampleRate: 16_000 });
    } catch (error) {
      this.fail(error, 'stt');
      return;
    }
    const input = new CallerInput(this.options, stt, this.now, {
      isEnded: () => this.ended,
      botIsActive: () => this.botIsActive(),
      isClosing: () => this.closing,
      speechStarted: (event) => {
        this.limits?.callerSpeech(true);
        this.interruption.speechStarted(event);
      },
      speechStopped: () => {
        this.limits?.callerSpeech(false);
        this.interruption.speechStopped();
      },
      transcript: (text, final) => {
        if (text.trim() !== '') this.limits?.callerWords();
        this.interruption.transcript(text, final);
      },
      userTurn: (text, latency) => {
        if (this.interruption.admitTurn(text)) {
          this.limits?.callerInput();
          this.userSaid(text, latency);
        } else this.discardPreempted(); // A backchannel or echo over the bot: not a turn.
      },
      preemptTurn: (text, latency) => this.preemptTurn(text, latency),
      discardPreempted: () => this.discardPreempted(),
      fail: (error, stage) => this.fail(error, stage),
    });
    this.input = input;
    this.unsubscribe.push(transport.onAudio((frame) => input.onAudio(frame)));
    this.unsubscribe.push(transport.onAudio((frame, mediaTimeMs) => this.interruption.callerFrame(frame, mediaTimeMs)));
    this.unsubscribe.push(transport.onSegmentPlayed((playout) => this.record.segmentPlayed(playout)));
    this.unsubscribe.push(transport.onClose((reason) => void this.stop(`media closed: ${reason}`)));
    if (this.options.greeting ?? true) this.startTurn();
    this.startLimits();
  }

  /** The session's time limit and no-input re-prompts, when the start asked for them. */
  private startLimits(): void {
    const settings = this.options.limits;
    if (!settings || this.ended) return;
    this.limits = new SessionLimits(settings, this.options.language, {
      botIsActive: () => this.botIsActive(),
      callerTurnPending: () => this.input?.turnPending ?? false,
      isOver: () => this.ended || this.closing,
      queuedMs: () => this.output.queuedMs(),
      onSegmentPlayed: (listener) => this.output.onSegmentPlayed(listener),
      // Stored like speech and DTMF, so the conversation on record is the one the LLM saw.
      prompt: (text) => this.userSaid(text),
      end: (text, reason) => void this.sayAndStop(text, reason),
    });
    this.limits.start();
  }

  /**
   * Says `text` as a bot turn of its own, not the LLM's words (a resumed session's apology): in
   * the history and reported like an answer once played; the caller may talk over it as over
   * any answer. A TTS failure leaves the conversation listening.
   */
  say(text: string): void {
    if (this.ended || this.closing) return;
    this.interruptForNewInput();
    const turn = createBotTurn(++this.turnCounter, {}, true);
    this.current = turn;
    const running = (async () => {
      try {
        await this.speech.speakText(turn, text);
        if (turn.controller.signal.aborted) return;
        this.messages.push({ role: 'assistant', content: text });
        turn.pendingMessage = text;
        turn.done = true;
        await this.record.reportWhenPlayed(turn);
      } catch {
        // Nothing was said; the caller is listened to all the same.
      } finally {
        turn.done = true;
      }
    })();
    this.track(running);
  }

  /**
   * A team's session hands the conversation to another member: its LLM, voice, language, tools
   * and system prompts apply from the next LLM request on (the turn under way continues with them
   * after its tool round), and the history of the conversation is kept. With `change.stt` the
   * caller is heard by the member's recogniser from then on: it is opened first and takes the
   * audio from the next frame, and the previous one is closed (it still reports what it heard
   * and its usage). If it cannot open, the previous recogniser goes on listening (`failed`).
   */
  async switchMember(change: MemberSwitch): Promise<{ stt: 'kept' | 'switched' | 'failed'; error?: unknown }> {
    if (this.ended) return { stt: 'kept' };
    // An answer prepared ahead was written by the member before: it goes, unheard.
    this.discardPreempted();
    applyMember(this.options, change);
    replaceSystemPrompts(this.messages, change.systemMessages);
    // How the caller is heard and answered follows: stalls, interruptions, end of turn, VAD.
    this.speech.reconfigure();
    this.interruption.reconfigure(this.options);
    this.input?.reconfigure(change.vadConfig);
    if (!change.stt || !this.input) return { stt: 'kept' };
    return this.input.switchRecogniser(change.stt, change.language);
  }

  /** Text from outside (an injected message): a user message, answered like speech. */
  sendText(text: string): void {
    if (this.ended) return;
    this.limits?.callerInput();
    this.interruptForNewInput();
    this.messages.push({ role: 'user', content: text });
    this.startTurn();
  }

  /** A DTMF digit from the caller reaches the LLM as a user event. */
  dtmf(digit: string): void {
    if (this.ended) return;
    this.limits?.callerInput();
    // Stored like speech, so the conversation on record is the one the LLM saw.
    this.userSaid(`[The caller pressed the phone key ${digit}]`);
  }

  /**
   * Says `text` (not the LLM's: e.g. billing's goodbye), cutting off whatever the bot was
   * saying, then ends with `reason` once the caller has heard it (at most 30 s). Caller
   * speech neither interrupts it nor gets an answer. Best effort: a TTS failure still ends
   * the conversation.
   */
  async sayAndStop(text: string, reason: string, error?: { category: string; message: string; provider?: string }): Promise<void> {
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
    await this.stop(reason, error);
  }

  /** Ends the conversation: aborts what runs, closes STT, reports `ended` once. */
  async stop(reason: string, error?: { category: string; message: string; provider?: string }): Promise<void> {
    if (this.ended) return;
    // An answer still being spoken is recorded as far as the caller heard it.
    if (this.current && !this.current.reported) this.bargeIn(false);
    this.ended = true;
    this.input?.cancelTimers();
    this.limits?.cancel();
    this.interruption.cancel();
    this.discardPreempted();
    this.current?.controller.abort(new Error(reason));
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    // STT reports the audio it took as its session closes: that usage is billed before `ended`.
    await this.input?.closeStt();
    this.options.onEvent({ type: 'ended', reason, ...(error ? { error } : {}) });
    await Promise.allSettled([...this.turns]);
  }

  /** The caller said `text` (a finished turn or a key press): stop the bot and answer. */
  private userSaid(text: string, latency: Partial<TurnLatency> = {}): void {
    const preempted = this.preempted?.answer.text === text ? this.preempted : undefined;
    if (preempted) this.preempted = undefined;
    else this.discardPreempted();
    this.interruptForNewInput();
    this.options.onEvent({ type: 'user_transcript', turn: this.turnCounter + 1, text });
    this.messages.push({ role: 'user', content: text });
    if (!preempted || this.ended || this.closing) {
      if (preempted) discardPrepared(preempted);
      this.startTurn(latency);
      return;
    }
    // The answer prepared ahead is this turn's: it is heard from now on.
    this.turnCounter++;
    this.current = preempted.turn;
    Object.assign(preempted.turn.latency, latency, { preemptive: true });
    preempted.answer.adopt(latency);
  }

  /** The caller paused after `text`: prepare the answer ahead, unheard, until the turn is over. */
  private preemptTurn(text: string, latency: Partial<TurnLatency>): void {
    this.discardPreempted();
    if (this.ended || this.closing || this.botIsActive()) return;
    const answer = new PreemptiveAnswer(text, this.options, this.now);
    const turn = createBotTurn(this.turnCounter + 1, latency);
    this.preempted = { answer, turn };
    this.track(this.runTurn(turn, answer));
  }

  /** The caller went on (or something else came first): the prepared answer goes, unheard. */
  private discardPreempted(): void {
    const preempted = this.preempted;
    this.preempted = undefined;
    if (preempted) discardPrepared(preempted);
  }

  private botIsActive(): boolean {
    return this.current !== undefined && (!this.current.done || this.options.transport.queuedMs() > 0);
  }

  private startTurn(latency: Partial<TurnLatency> = {}): void {
    if (this.ended || this.closing) return;
    this.discardPreempted();
    const turn = createBotTurn(++this.turnCounter, latency);
    this.current = turn;
    this.track(this.runTurn(turn));
  }

  private track(running: Promise<void>): void {
    this.turns.add(running);
    void running.finally(() => this.turns.delete(running));
  }

  /** A bot turn; `preemptive`: prepared ahead, its first round waits to be adopted before it counts. */
  private async runTurn(turn: BotTurn, preemptive?: PreemptiveAnswer): Promise<void> {
    const signal = turn.controller.signal;
    const speech = preemptive?.speech ?? this.speech;
    try {
      // A tool call an interruption left running finishes first: its result is in the history.
      await this.toolsInFlight;
      for (let round = 0; round < (this.options.maxToolRounds ?? 5); round++) {
        // Ahead of the turn's end the caller's words are not in the history yet.
        const messages: readonly LlmMessage[] = preemptive?.isHeld ? [...this.messages, { role: 'user', content: preemptive.text }] : this.messages;
        const spoken = await speech.speakRound(turn, round, messages);
        if (preemptive && !(await preemptive.decided)) return;
        const text = spoken.text.trim();
        const { toolCalls } = spoken;
        if (signal.aborted) return;
        if (toolCalls.length === 0) {
          // Reported when the caller has heard it all; a barge-in reports what was heard instead.
          this.messages.push({ role: 'assistant', content: text });
          turn.pendingMessage = text;
          void this.record.reportWhenPlayed(turn);
          return;
        }
        this.messages.push({ role: 'assistant', content: text, toolCalls });
        turn.reported = true;
        this.options.onEvent({ type: 'assistant_message', turn: turn.turn, text, interrupted: false, toolCalls });

        const tools = runToolRound(turn, toolCalls, this.messages, this.options);
        this.toolsInFlight = tools;
        const { runAgain, endSession } = await tools;
        if (endSession) {
          await speech.drained(signal);
          await this.stop(endSession);
          return;
        }
        if (!runAgain || signal.aborted) return;
      }
    } catch (error) {
      if (signal.aborted) return;
      if (preemptive && !(await preemptive.decided)) return;
      this.fail(error, 'llm');
    } finally {
      turn.done = true;
      speech.reportLatency(turn);
    }
  }

  // ---- what the caller heard -------------------------------------------------------------

  /**
   * Caller speech over the bot: everything of the bot's turn stops now (LLM, TTS, queued
   * audio) and the history keeps only the words the caller heard.
   */
  private bargeIn(asBargeIn = true): void {
    const turn = this.current;
    if (!turn) return;
    // Paused for it (interruption.ts), the caller stopped hearing the bot when the pause began.
    const pausedAt = this.output.pausedAt;
    const decidedAt = pausedAt ?? this.now();
    turn.controller.abort(new Error('barge-in'));
    const playouts = this.options.transport.interrupt();
    const stoppedAt = pausedAt ?? this.now();
    this.current = undefined;
    const heard = this.record.cut(turn, playouts);
    if (asBargeIn) this.options.onEvent({ type: 'barge_in', turn: turn.turn, heardText: heard, decidedAt, stoppedAt });
  }

  /** New input (DTMF, text, a new caller turn) while the bot talks: stop it, keep what was heard. */
  private interruptForNewInput(): void {
    if (this.botIsActive() && !this.closing) this.bargeIn();
  }

  private fail(error: unknown, stage: 'stt' | 'llm' | 'vad'): void {
    if (this.ended) return;
    if (isStallError(error)) return this.gaveUpAfterStall(error);
    const details = failureDetails(error, stage);
    void this.stop(`${stage} failed: ${details.message}`, details);
  }

  /**
   * Every try of the LLM or TTS stalled: the caller hears the apology (not when TTS is what
   * stalled: nothing could say it) and the session ends with the reason.
   */
  private gaveUpAfterStall(error: StallError): void {
    // A stall comes before any of the answer was heard: there is nothing of it to record.
    if (this.current) this.current.reported = true;
    const details = { category: 'timeout', message: `${error.stage} stalled: ${error.message}`, provider: error.provider };
    const apology = this.speech.stall.apologyText;
    if (error.stage === 'llm' && apology !== '') void this.sayAndStop(apology, details.message, details);
    else void this.stop(details.message, details);
  }
}
