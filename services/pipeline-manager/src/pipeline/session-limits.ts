import { defaultNoInputMax } from '@avp/shared';
import type { SegmentPlayout } from '../media/output-queue.ts';
import { closingLines } from './closing-lines.ts';

/**
 * A voice session's limits, in ms (pipeline-start.ts turns the start request into these):
 * - `endAfterMs`: time left until the session's deadline (`ai_talk.duration`); undefined = no
 *   limit, 0 or less = already over (a session resumed after its deadline ends at once);
 * - `noInputTimeoutMs`: caller silence after the bot finished before it re-prompts (0 = off);
 * - `noInputMax`: re-prompts before the session ends for lack of input.
 */
export interface SessionLimitSettings {
  endAfterMs?: number;
  noInputTimeoutMs?: number;
  noInputMax?: number;
}

/** Longest wait, when the time limit hits mid-sentence, for that sentence to finish playing. */
export const SENTENCE_FINISH_MAX_MS = 10_000;

/** The longest delay a Node timer takes (a longer one fires at once): longer limits wait in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How often the silence is checked: fine enough for timeouts given in whole seconds, nothing per frame. */
const CHECK_INTERVAL_MS = 100;

/** What the limits need of the conversation they watch. */
export interface SessionLimitHooks {
  /** The bot is writing or its audio is still playing. */
  botIsActive(): boolean;
  /** The caller's words await the end-of-turn decision: they are input, not silence. */
  callerTurnPending(): boolean;
  /** The conversation ended or is saying its last line: nothing more to do. */
  isOver(): boolean;
  /** Audio still queued for the caller (ms). */
  queuedMs(): number;
  /** Subscribes to output segments (sentences) that played to the end. */
  onSegmentPlayed(listener: (playout: SegmentPlayout) => void): () => void;
  /** Gives the LLM a turn with `text` as a user event (the caller's silence). */
  prompt(text: string): void;
  /** Says `text` (cutting the bot off) and ends the session with `reason` (stop_service semantics). */
  end(text: string, reason: string): void;
}

/** The user event the LLM gets after `seconds` of caller silence. */
export function silencePrompt(seconds: number): string {
  return `[The caller has been silent for ${formatSeconds(seconds)} seconds]`;
}

function formatSeconds(seconds: number): string {
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(1);
}

/**
 * The session's time limit and its no-input re-prompts. Why here and not in the LLM's hands:
 * a limit the AI could talk past is no limit, and a caller who put the phone down silently
 * would otherwise keep the session (and its bill) running until the call ends.
 *
 * - **Time limit.** When it runs out, the sentence being played (if any) is let finish, at most
 *   `SENTENCE_FINISH_MAX_MS`, the rest of the answer is dropped (the history keeps what was
 *   heard), and the closing line is said before the session ends.
 * - **No input.** Silence counts from when the bot stopped (its answer played) or the caller's
 *   last sound, whichever is later. After `noInputTimeoutMs` of it the LLM gets a turn with
 *   `silencePrompt` (so it re-prompts in its own words and language); after `noInputMax` such
 *   re-prompts and one more timeout, the closing line and the end. Any caller input (speech
 *   heard while the bot is quiet, a finished turn, a key, injected text) resets the count.
 */
export class SessionLimits {
  private readonly timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private quietSince = Date.now();
  private callerSpeaking = false;
  private reprompts = 0;
  private timeUp = false;
  private readonly lines: ReturnType<typeof closingLines>;

  constructor(
    private readonly settings: SessionLimitSettings,
    language: string,
    private readonly hooks: SessionLimitHooks,
  ) {
    this.lines = closingLines(language);
  }

  /** Starts the clocks (the conversation is listening). */
  start(): void {
    const { endAfterMs, noInputTimeoutMs = 0 } = this.settings;
    if (endAfterMs !== undefined) this.endAt(Date.now() + endAfterMs);
    if (noInputTimeoutMs > 0) {
      this.quietSince = Date.now();
      this.timers.push(setInterval(() => this.checkSilence(noInputTimeoutMs), Math.min(CHECK_INTERVAL_MS, noInputTimeoutMs)));
    }
  }

  /** Calls onTimeUp at `deadline` (wall clock), in steps a Node timer can take. */
  private endAt(deadline: number): void {
    const left = deadline - Date.now();
    if (left > MAX_TIMER_MS) this.timers.push(setTimeout(() => this.endAt(deadline), MAX_TIMER_MS));
    else this.timers.push(setTimeout(() => this.onTimeUp(), Math.max(0, left)));
  }

  /** Stops every timer (the conversation ended). */
  cancel(): void {
    for (const timer of this.timers.splice(0)) clearTimeout(timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** VAD: the caller started (true) or stopped (false) speaking. Over the bot it may be its echo: no reset of the count. */
  callerSpeech(speaking: boolean): void {
    this.callerSpeaking = speaking;
    this.quietSince = Date.now();
    if (speaking && !this.hooks.botIsActive()) this.reprompts = 0;
  }

  /** Words came from STT (interim or final): the silence starts again. */
  callerWords(): void {
    this.quietSince = Date.now();
  }

  /** A real caller turn, a key press or injected text: the caller is there. */
  callerInput(): void {
    this.quietSince = Date.now();
    this.reprompts = 0;
  }

  private checkSilence(timeoutMs: number): void {
    if (this.hooks.isOver() || this.timeUp) return;
    const now = Date.now();
    if (this.callerSpeaking || this.hooks.botIsActive() || this.hooks.callerTurnPending()) {
      this.quietSince = now;
      return;
    }
    if (now - this.quietSince < timeoutMs) return;
    this.quietSince = now;
    if (this.reprompts >= (this.settings.noInputMax ?? defaultNoInputMax)) {
      this.cancel();
      this.hooks.end(this.lines.noInput, `no input: the caller was silent after ${this.reprompts} re-prompts (stop_service)`);
      return;
    }
    this.reprompts++;
    this.hooks.prompt(silencePrompt(timeoutMs / 1000));
  }

  /** The time limit: let the sentence being heard finish (bounded), then the closing line. */
  private onTimeUp(): void {
    if (this.hooks.isOver() || this.timeUp) return;
    this.timeUp = true;
    const reason = "time limit: the session's duration ran out (stop_service)";
    const close = () => {
      this.cancel();
      if (!this.hooks.isOver()) this.hooks.end(this.lines.timeLimit, reason);
    };
    if (this.hooks.queuedMs() <= 0) return close();
    // The next segment to finish is the sentence the caller is hearing now.
    this.unsubscribe = this.hooks.onSegmentPlayed(() => close());
    this.timers.push(setTimeout(close, SENTENCE_FINISH_MAX_MS));
  }
}
