import type { TurnLatency } from './conversation-types.ts';
import { endOfTurnWaitMs, looksComplete, type EndOfTurnSettings } from './end-of-turn.ts';

/** A break in the sound this long ends it (the gaps inside words are shorter). */
const soundBreakMs = 100;
/** Dynamic endpointing: the caller's pauses it learns from (the newest), and the margin above the longest. */
const learnedPauses = 8;
const learnedMarginMs = 150;
/** Speech that began this soon after the turn was ended is the caller going on: the end came too early. */
const prematureWindowMs = 500;
/** Shorter gaps are not pauses (the VAD's own stop wait is 0.2 s by default). */
const shortestPauseMs = 150;

/** What the detector decides, for the conversation to act on. */
export interface TurnEndHooks {
  /** The caller has paused after a final transcript: prepare the answer to `text`, unheard. */
  preempt(text: string, latency: Partial<TurnLatency>): void;
  /** The prepared answer no longer fits (the caller went on, or more text came). */
  discardPreempted(): void;
  /** The caller's turn is over: `text` is what they said. */
  endTurn(text: string, latency: Partial<TurnLatency>): void;
}

/**
 * Decides when the caller's turn is over from the VAD's silence, the transcript so far and the
 * STT provider's own end-of-utterance signal: a finished-looking utterance ends after
 * `completeStopMs` of silence, an unfinished one after `incompleteStopMs`. From
 * `preemptivePauseMs` of silence after a final transcript the answer may be prepared ahead.
 * Silence is counted from where the VAD says speech ended, not from when it said so.
 */
export class TurnEndDetector {
  private finals: string[] = [];
  private speaking = false;
  /** Conversation-clock time the current silence began (undefined while speaking or before any speech). */
  private silenceFrom: number | undefined;
  private userStoppedAt: number | undefined;
  private sttFinalAt: number | undefined;
  private providerEnded = false;
  /** Since when the caller's line has been loud without a break of 100 ms (sound the VAD may not have judged yet). */
  private soundSince: number | undefined;
  private lastSoundAt = Number.NEGATIVE_INFINITY;
  /** The VAD heard speech since the last turn ended. */
  private heardSpeech = false;
  private preempted: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Pauses the caller made within turns this call (ms), newest last. */
  private readonly pauses: number[] = [];
  /** Where the silence that ended the last turn began, and when it ended it. */
  private lastEnd: { silenceFrom: number; at: number } | undefined;

  constructor(
    private settings: EndOfTurnSettings,
    private readonly now: () => number,
    private readonly hooks: TurnEndHooks,
  ) {}

  /** Another AI's settings (a team hand-over): a wait already running keeps its end; the next decision takes them. */
  configure(settings: EndOfTurnSettings): void {
    this.settings = settings;
  }

  /** The text heard so far in this turn. */
  get text(): string {
    return this.finals.join(' ').trim();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  speechStarted(): void {
    if (this.settings.adaptive) this.learnPause();
    this.speaking = true;
    this.heardSpeech = true;
    this.silenceFrom = undefined;
    this.providerEnded = false;
    this.cancel();
    this.dropPreempted();
  }

  /** The VAD heard the end of speech `silentForMs` ago. */
  speechStopped(silentForMs: number): void {
    this.speaking = false;
    this.userStoppedAt = this.now();
    this.silenceFrom = this.userStoppedAt - Math.max(0, silentForMs);
    this.evaluate();
  }

  final(text: string): void {
    this.finals.push(text);
    this.sttFinalAt = this.now();
    // Words the VAD did not hear as speech (too short, or missed): the silence counts from now,
    // not from the end of the previous turn.
    if (!this.speaking && !this.heardSpeech) this.silenceFrom = this.sttFinalAt;
    // The answer being prepared was to fewer words.
    this.dropPreempted();
    this.evaluate();
  }

  /**
   * The loudness of each frame of the caller's audio, as it arrives. The VAD reports speech
   * only after `start_secs` of it, so a caller who resumes late in a pause would otherwise be
   * answered in that gap: while there is sound, the end of the turn waits up to
   * `speechOnsetHoldMs` for the VAD's verdict.
   */
  heard(loud: boolean): void {
    const now = this.now();
    if (loud) {
      if (now - this.lastSoundAt >= soundBreakMs) this.soundSince = now;
      this.lastSoundAt = now;
    } else if (now - this.lastSoundAt >= soundBreakMs) {
      this.soundSince = undefined;
    }
  }

  /** The STT provider's own end-of-utterance signal (Deepgram's speech_final / UtteranceEnd). */
  providerEndOfUtterance(): void {
    if (this.text === '') return;
    this.providerEnded = true;
    this.evaluate();
  }

  /** Ends the turn now, whatever the silence (the STT-only turn policy). */
  endNow(): void {
    if (this.text === '') return;
    this.finish();
  }

  private evaluate(): void {
    this.cancel();
    const text = this.text;
    if (this.speaking || this.silenceFrom === undefined || text === '') return;
    const silentFor = this.now() - this.silenceFrom;
    const endAfter = endOfTurnWaitMs(this.settings, text, this.providerEnded, this.learnedWaitMs());
    if (silentFor >= endAfter) {
      const heldFor = this.soundSince === undefined ? undefined : this.now() - this.soundSince;
      if (heldFor !== undefined && heldFor < this.settings.speechOnsetHoldMs) {
        this.timer = setTimeout(() => this.evaluate(), Math.max(1, this.settings.speechOnsetHoldMs - heldFor));
        return;
      }
      this.finish();
      return;
    }
    let next = endAfter;
    if (this.settings.preemptiveEnabled && this.preempted === undefined) {
      if (silentFor >= this.settings.preemptivePauseMs) {
        this.preempted = text;
        this.hooks.preempt(text, this.latency());
      } else {
        next = this.settings.preemptivePauseMs;
      }
    }
    this.timer = setTimeout(() => this.evaluate(), Math.max(1, next - silentFor));
  }

  /**
   * Dynamic endpointing: speech that resumes a pause within the turn, or that comes within
   * `prematureWindowMs` of the turn's end (the caller was not done), teaches the detector how
   * long this caller pauses. Its onset is where the sound began (the VAD reports it later).
   */
  private learnPause(): void {
    const onset = Math.min(this.now(), this.soundSince ?? this.now());
    let pause: number | undefined;
    // Only pauses after words that read as finished: those are the ones the shorter wait risks
    // taking for the end (an unfinished-looking transcript already waits the longer one).
    if (!this.speaking && this.heardSpeech && this.silenceFrom !== undefined && this.readsFinished()) pause = onset - this.silenceFrom;
    else if (!this.heardSpeech && this.lastEnd && onset - this.lastEnd.at <= prematureWindowMs) pause = onset - this.lastEnd.silenceFrom;
    this.lastEnd = undefined;
    if (pause === undefined || pause < shortestPauseMs || pause > this.settings.incompleteStopMs + this.settings.speechOnsetHoldMs) return;
    this.pauses.push(pause);
    if (this.pauses.length > learnedPauses) this.pauses.shift();
  }

  private readsFinished(): boolean {
    return this.text !== '' && (this.providerEnded || looksComplete(this.text));
  }

  /** A little longer than the longest of the caller's recent pauses (0 before any). */
  private learnedWaitMs(): number {
    return this.pauses.length === 0 ? 0 : Math.max(...this.pauses) + learnedMarginMs;
  }

  private finish(): void {
    this.cancel();
    const text = this.text;
    const latency = { ...this.latency(), turnEndAt: this.now() };
    this.lastEnd = this.silenceFrom !== undefined && this.readsFinished() ? { silenceFrom: this.silenceFrom, at: this.now() } : undefined;
    this.finals = [];
    this.preempted = undefined;
    this.providerEnded = false;
    this.heardSpeech = false;
    this.hooks.endTurn(text, latency);
  }

  private dropPreempted(): void {
    if (this.preempted === undefined) return;
    this.preempted = undefined;
    this.hooks.discardPreempted();
  }

  private latency(): Partial<TurnLatency> {
    return {
      ...(this.userStoppedAt !== undefined ? { userStoppedAt: this.userStoppedAt } : {}),
      ...(this.silenceFrom !== undefined ? { speechEndedAt: this.silenceFrom } : {}),
      ...(this.sttFinalAt !== undefined ? { sttFinalAt: this.sttFinalAt } : {}),
    };
  }
}
