import { rootMeanSquare, type AudioFrame } from '../media/audio-format.ts';
import type { VadEvent } from '../media/vad/voice-activity-detector.ts';
import type { ConversationOptions } from './conversation-types.ts';
import { interruptionSettings, type InterruptionSettings } from './interruption-settings.ts';
import { judgeWords, type WordsVerdict } from './interruption-words.ts';
import type { ResumableOutput } from './resumable-output.ts';

/** What the policy needs of the conversation. */
export interface InterruptionHooks {
  botIsActive(): boolean;
  /** A last text is being said (sayAndStop): nothing interrupts it. */
  isClosing(): boolean;
  /** Stops what the caller hears, keeping the rest of the answer to go on with. */
  pause(): void;
  /** Still paused (nothing else, a key press say, stopped the bot meanwhile). */
  isPaused(): boolean;
  /** Goes on with the answer from the sentence that was cut. */
  resume(): void;
  /** A real interruption: the bot stops for good, the history keeps what was heard. */
  bargeIn(): void;
  /** RMS of the bot's voice (0 before it spoke). */
  botLevel(): number;
  report(kind: 'real' | 'backchannel' | 'false'): void;
}

/** Caller speech that began while the bot was speaking, until it is judged. */
interface Candidate {
  /** Media time (the transport's) the speech began. */
  startMs: number;
  /** Loudest caller frame of it (RMS): frames well below it are pauses, not speech. */
  peak: number;
  /** Milliseconds of it that were voiced (the caller's, above the bot's echo). */
  voicedMs: number;
  /** Milliseconds of it that could only be the bot's echo. */
  echoMs: number;
  /** Unvoiced milliseconds since its last voiced frame. */
  gapMs: number;
  speaking: boolean;
  /** It has lasted `minMs`. */
  long: boolean;
  /** The bot's audio was paused for it (no words yet to judge). */
  paused: boolean;
  /** Mostly too quiet beside the bot's voice: the line's echo of it (its words are the bot's). */
  echo: boolean;
  finals: string[];
  interim: string;
  /** A final result (even an empty one) came since the speech last stopped. */
  finalSinceStop: boolean;
  decided?: 'real' | 'backchannel' | 'false';
}

/** Inbound frame levels kept (6 s: longer than the longest min_secs, and VAD's lag). */
const LEVEL_FRAMES = 300;
/** An interim result this recent when VAD hears speech start is taken as that speech's words. */
const RECENT_INTERIM_MS = 1000;
/** Unvoiced gaps up to this long within speech count towards its duration. */
const BRIDGED_GAP_MS = 200;
/** Speech taken for echo holds less voiced audio than this (a word said over it is not echo). */
const ECHO_MAX_VOICED_MS = 100;
/** Frames quieter than this (RMS), or than a tenth of the speech's peak, are not voiced. */
const QUIET_RMS = 100;

/**
 * Decides what caller sound over the bot is (see the pipeline-manager README, "Interruptions"):
 *
 * - Speech that starts while the bot speaks is a candidate. With less than `minMs` of voiced
 *   audio it never stops the bot (a cough, "mhm"); its words, if any come, are judged when the
 *   caller's turn ends (so a short "no" is real).
 * - At `minMs` of voiced audio the words so far decide: others than backchannel words (at least `minWords`)
 *   make it real (the bot stops for good); only backchannel words leave the bot talking; no
 *   words yet (STT without interim results, or slow ones) pause the bot's audio, so a real
 *   interruption is not held up waiting for words.
 * - A paused bot stops for good when words come, and goes on from the sentence that was cut
 *   when the sound stops and no words come within `falseInterruptionMs` (a false interruption)
 *   or only backchannel words do. A recogniser that has not answered for the sound at all by
 *   then (no final, not even an empty one) gets `falseInterruptionMs` more.
 * - Sound much quieter than the bot's own voice while it speaks is its echo on the line and
 *   never interrupts; its words are not a caller turn.
 *
 * Words of a candidate that did not interrupt are not a turn of the caller and are kept out of
 * the history: the LLM answers what was said to it, not "mhm".
 */
export class InterruptionPolicy {
  private candidate: Candidate | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly levels: { atMs: number; rms: number }[] = [];
  private pendingInterim = '';
  private pendingInterimAt = 0;

  constructor(
    private settings: InterruptionSettings,
    private readonly hooks: InterruptionHooks,
  ) {}

  /** Another AI's settings (a team hand-over: `options` are the new member's): speech over the bot is judged by them from now on. */
  reconfigure(options: Pick<ConversationOptions, 'turnConfig' | 'interruptionMinMs'>): void {
    this.settings = interruptionSettings(options.turnConfig?.interruption, options.interruptionMinMs);
  }

  /**
   * Every inbound frame: the caller's level (echo) and how long the speech over the bot has
   * been voiced. Duration counts voiced audio, not VAD's state, which lags the end of a sound
   * by its stop_secs: a 0.2 s "mhm" stays 0.2 s.
   */
  callerFrame(frame: AudioFrame, mediaTimeMs: number): void {
    const level = { atMs: mediaTimeMs, rms: rootMeanSquare(frame) };
    this.levels.push(level);
    if (this.levels.length > LEVEL_FRAMES) this.levels.shift();
    const candidate = this.candidate;
    if (!candidate?.speaking || candidate.decided || level.atMs < candidate.startMs) return;
    if (!candidate.long) this.count(candidate, level);
  }

  speechStarted(event: VadEvent): void {
    const candidate = this.candidate;
    if (candidate?.paused && !candidate.decided) {
      // Speech again while the bot waits paused: the same interruption goes on.
      candidate.speaking = true;
      clearTimeout(this.settleTimer);
      return;
    }
    this.clearTimers();
    this.candidate = undefined;
    if (!this.hooks.botIsActive() || this.hooks.isClosing()) return;
    // VAD's clock may not be the transport's: place the start by how long ago VAD says it was.
    this.open(this.nextFrameMs() - Math.max(0, event.detectedAtMs - event.mediaTimeMs));
  }

  /** A new candidate from `startMs` (the frames VAD took to decide are already here). */
  private open(startMs: number): void {
    const interim = performance.now() - this.pendingInterimAt <= RECENT_INTERIM_MS ? this.pendingInterim : '';
    const next: Candidate = { startMs, peak: 0, voicedMs: 0, echoMs: 0, gapMs: 0, speaking: true, long: false, paused: false, echo: false, finals: [], interim, finalSinceStop: false };
    this.candidate = next;
    for (const level of this.levels) if (level.atMs >= next.startMs && !next.long) this.count(next, level);
  }

  private nextFrameMs(): number {
    return (this.levels.at(-1)?.atMs ?? 0) + 20;
  }

  speechStopped(): void {
    const candidate = this.candidate;
    if (!candidate || candidate.decided) return;
    candidate.speaking = false;
    candidate.finalSinceStop = false;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.settleUnlessTranscribing(candidate), this.settings.falseInterruptionMs);
  }

  /**
   * The wait for words after a paused bot's sound stopped is over. A recogniser that has not
   * answered for that speech at all (no final, not even an empty one) is still working on it:
   * an offline or loaded one gives its final seconds after the speech, and taking the sound for
   * a false interruption then resumes the bot over a real barge-in. It gets as long again; its
   * final settles the candidate either way (words: the bot stops; none: it goes on).
   */
  private settleUnlessTranscribing(candidate: Candidate, extended = false): void {
    if (candidate.paused && !candidate.finalSinceStop && !extended) {
      this.settleTimer = setTimeout(() => this.settleUnlessTranscribing(candidate, true), this.settings.falseInterruptionMs);
      return;
    }
    this.settle(candidate);
  }

  /** STT results (interim or final) while a candidate is open. */
  transcript(text: string, final: boolean): void {
    // An interim result not yet followed by a final is speech going on now: VAD (start_secs,
    // and its own lag) may open the candidate only after it came.
    this.pendingInterim = final ? '' : text;
    this.pendingInterimAt = performance.now();
    const candidate = this.candidate;
    if (!candidate || candidate.decided) return;
    if (final) {
      candidate.finalSinceStop = true;
      if (text.trim() !== '') candidate.finals.push(text.trim());
      candidate.interim = '';
    } else {
      candidate.interim = text;
    }
    const verdict = this.verdict(candidate);
    if (candidate.long && !candidate.echo && verdict === 'real') this.interrupt(candidate);
    else if (final && verdict === 'none' && !candidate.speaking) this.settle(candidate); // STT says: no speech
    else if (final && verdict === 'backchannel' && !candidate.long) this.settle(candidate); // "mhm", said and done
  }

  /**
   * A finished caller turn: true when it is one (answer it), false when its words were a
   * backchannel or echo over the bot (dropped; a paused bot goes on).
   */
  admitTurn(text: string): boolean {
    const candidate = this.candidate;
    if (!candidate || candidate.decided === 'real') return true;
    const verdict: WordsVerdict | 'echo' = candidate.echo && candidate.voicedMs < ECHO_MAX_VOICED_MS ? 'echo' : judgeWords(text, this.settings.backchannelWords, this.settings.minWords);
    // Over the bot while it is paused for this speech, or talking again after it (resumed for a
    // backchannel whose turn the end-of-turn wait ends only now).
    const stillOver = this.hooks.isPaused() || this.hooks.botIsActive();
    if (verdict === 'real' || (!stillOver && verdict !== 'echo')) {
      // Said over the bot, or just as it finished: a turn. A paused bot stops for good (userSaid).
      if (!candidate.decided && stillOver) this.hooks.report('real');
      candidate.decided = 'real';
      this.clearTimers();
      return true;
    }
    this.settle(candidate, 'backchannel');
    return false;
  }

  cancel(): void {
    this.clearTimers();
    this.candidate = undefined;
  }

  /**
   * Counts a frame of the candidate: voiced when above the quiet floor (a tenth of its peak)
   * and, while the bot speaks, above where its echo can reach; between the two, it is echo.
   * Enough voiced audio makes the candidate long (the caller's, whatever echo came before).
   */
  private count(candidate: Candidate, level: { rms: number }): void {
    candidate.peak = Math.max(candidate.peak, level.rms);
    const quiet = Math.max(QUIET_RMS, candidate.peak / 10);
    const echo = this.hooks.botIsActive() ? this.hooks.botLevel() * this.settings.echoFactor : 0;
    if (level.rms >= Math.max(quiet, echo)) {
      // A short gap between words is part of the speech; a longer one (the silence after a
      // "mhm", until VAD calls it stopped) is not.
      if (candidate.gapMs <= BRIDGED_GAP_MS) candidate.voicedMs += candidate.gapMs;
      candidate.gapMs = 0;
      candidate.voicedMs += 20;
    } else {
      if (candidate.voicedMs > 0) candidate.gapMs += 20;
      if (level.rms >= quiet) candidate.echoMs += 20;
    }
    if (candidate.voicedMs >= this.settings.minMs) {
      candidate.echo = false;
      this.lasted(candidate);
    } else if (candidate.echoMs >= this.settings.minMs && candidate.voicedMs < ECHO_MAX_VOICED_MS) {
      candidate.echo = true;
    }
  }

  /** The candidate has lasted the minimum: stop the bot, pause it, or let it talk on. */
  private lasted(candidate: Candidate): void {
    if (candidate !== this.candidate || candidate.decided || !candidate.speaking) return;
    candidate.long = true;
    if (!this.hooks.botIsActive() || this.hooks.isClosing()) return;
    const verdict = this.verdict(candidate);
    // With min_words 0 words do not matter: speech that lasted is an interruption.
    if (verdict === 'real' || (verdict === 'none' && this.settings.minWords === 0)) this.interrupt(candidate);
    else if (verdict === 'none') {
      candidate.paused = true;
      this.hooks.pause();
    }
  }

  private interrupt(candidate: Candidate): void {
    candidate.decided = 'real';
    this.clearTimers();
    this.hooks.report('real');
    this.hooks.bargeIn();
  }

  /** The candidate did not interrupt: a paused bot goes on; reported once. */
  private settle(candidate: Candidate, kind?: 'backchannel'): void {
    if (candidate.decided) return;
    clearTimeout(this.settleTimer);
    if (candidate.paused) {
      if (!this.hooks.isPaused()) {
        // Something else (a key press, an injected message) stopped the bot meanwhile.
        candidate.decided = 'real';
        return;
      }
      candidate.decided = kind ?? (this.verdict(candidate) === 'none' ? 'false' : 'backchannel');
      this.hooks.resume();
    } else {
      candidate.decided = 'backchannel';
      // Opened after an earlier one was settled within one stretch of VAD speech, and empty.
      if (candidate.voicedMs === 0 && candidate.echoMs === 0 && this.verdict(candidate) === 'none') return;
    }
    this.hooks.report(candidate.decided);
    // VAD may hear one stretch of speech on (the bot's echo keeps it going): what follows is
    // judged afresh.
    if (candidate === this.candidate && candidate.speaking && this.hooks.botIsActive()) this.open(this.nextFrameMs());
  }

  private verdict(candidate: Candidate): WordsVerdict {
    const text = [...candidate.finals, candidate.interim].join(' ');
    return judgeWords(text, this.settings.backchannelWords, this.settings.minWords);
  }

  private clearTimers(): void {
    clearTimeout(this.settleTimer);
  }
}

/** The conversation's policy, on its resumable output, reporting `interruption` events. */
export function createInterruptionPolicy(
  options: ConversationOptions,
  output: ResumableOutput,
  conversation: { botIsActive(): boolean; isClosing(): boolean; bargeIn(): void; turn(): number },
): InterruptionPolicy {
  return new InterruptionPolicy(interruptionSettings(options.turnConfig?.interruption, options.interruptionMinMs), {
    botIsActive: () => conversation.botIsActive(),
    isClosing: () => conversation.isClosing(),
    pause: () => output.pause(),
    isPaused: () => output.isPaused,
    resume: () => output.resume(),
    bargeIn: () => conversation.bargeIn(),
    botLevel: () => output.botLevel(),
    report: (kind) => options.onEvent({ type: 'interruption', turn: conversation.turn(), kind }),
  });
}
