import type { TurnLatency } from './conversation-types.ts';
import { endOfTurnWaitMs, type EndOfTurnSettings } from './end-of-turn.ts';

/** A break in the sound this long ends it (the gaps inside words are shorter). */
const soundBreakMs = 100;

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

  constructor(
    private readonly settings: EndOfTurnSettings,
    private readonly now: () => number,
    private readonly hooks: TurnEndHooks,
  ) {}

  /** The text heard so far in this turn. */
  get text(): string {
    return this.finals.join(' ').trim();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  speechStarted(): void {
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
    const endAfter = endOfTurnWaitMs(this.settings, text, this.providerEnded);
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

  private finish(): void {
    this.cancel();
    const text = this.text;
    const latency = { ...this.latency(), turnEndAt: this.now() };
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
