import type { VadConfig } from '@avp/shared';
import type { AudioFrame } from '../media/audio-format.ts';
import { windowVolume, type VadEvent } from '../media/vad/voice-activity-detector.ts';
import type { SttProvider, SttSession } from '../providers/types.ts';
import type { ConversationOptions, TurnLatency } from './conversation-types.ts';
import { endOfTurnSettings, soundVolume, type EndOfTurnSettings } from './end-of-turn.ts';
import { TurnEndDetector } from './turn-end-detector.ts';

/** What the caller's side needs of the conversation it feeds. */
export interface CallerInputHooks {
  isEnded(): boolean;
  /** The bot is speaking (or its audio is still playing). */
  botIsActive(): boolean;
  /** A last text is being said (sayAndStop): caller speech does not cut it off. */
  isClosing(): boolean;
  /** VAD heard the caller start: over the bot, the interruption policy (interruption.ts) decides what it is. */
  speechStarted(event: VadEvent): void;
  speechStopped(): void;
  /** Every STT result, interim or final (the policy judges words over the bot). */
  transcript(text: string, final: boolean): void;
  /** The caller's turn is over: `text` is what they said. */
  userTurn(text: string, latency: Partial<TurnLatency>): void;
  /** The caller paused after `text`: prepare the answer, unheard, in case the turn is over. */
  preemptTurn(text: string, latency: Partial<TurnLatency>): void;
  /** The answer prepared ahead no longer fits: drop it silently. */
  discardPreempted(): void;
  fail(error: unknown, stage: 'stt' | 'vad'): void;
}

/**
 * The caller's side of a conversation: audio to VAD and STT, barge-in decisions on VAD
 * speech starts, and the endpointing policy that decides when the caller's turn is over
 * (turn-end-detector.ts).
 */
export class CallerInput {
  private userSpeaking = false;
  private readonly turnEnd: TurnEndDetector;
  /** Settles once every STT session's events have been read (each closed). */
  private sttConsumed: Promise<void>;

  constructor(
    private readonly options: ConversationOptions,
    private stt: SttSession,
    private readonly now: () => number,
    private readonly hooks: CallerInputHooks,
  ) {
    this.turnEnd = new TurnEndDetector(this.turnEndSettings(), now, {
      preempt: (text, latency) => hooks.preemptTurn(text, latency),
      discardPreempted: () => hooks.discardPreempted(),
      endTurn: (text, latency) => hooks.userTurn(text, latency),
    });
    this.sttConsumed = this.consumeStt();
  }

  /** The end-of-turn settings of the AI now answering (they follow a team hand-over: `reconfigure`). */
  private turnEndSettings(): EndOfTurnSettings {
    const settings = endOfTurnSettings(this.options.turnConfig?.end_of_turn);
    // With the STT-only policy the provider alone ends the turn: nothing is prepared ahead.
    if (this.options.turnEnd === 'stt') settings.preemptiveEnabled = false;
    return settings;
  }

  /** A team member took over: its `turn_config` and `vad_config` (in the options) judge the caller from now on. */
  reconfigure(vadConfig: VadConfig | undefined): void {
    this.turnEnd.configure(this.turnEndSettings());
    this.options.vad.configure?.(vadConfig ?? {});
  }

  /** The caller's words await the end-of-turn decision (the no-input clock must not run over them). */
  get turnPending(): boolean {
    return this.turnEnd.text !== '';
  }

  /** Stops the pending timers (the conversation ended). */
  cancelTimers(): void {
    this.turnEnd.cancel();
  }

  onAudio(frame: AudioFrame): void {
    if (this.hooks.isEnded()) return;
    this.stt.write(frame);
    this.turnEnd.heard(windowVolume(frame) >= soundVolume);
    this.options.vad.process(frame).then(
      (events) => {
        for (const event of events) this.onVad(event);
      },
      (error: unknown) => this.hooks.fail(error, 'vad'),
    );
  }

  /**
   * Reads an STT session's events (the current one by default) until it ends or fails; its usage
   * is metered under `provider`. A session replaced meanwhile (`switchRecogniser`) still delivers
   * what it heard and its usage, but its failure no longer fails the conversation.
   */
  private async consumeStt(stt = this.stt, provider = this.options.stt.name): Promise<void> {
    try {
      for await (const event of stt.events) {
        // After the end only the usage counts (STT reports it as its session closes).
        if (this.hooks.isEnded() && event.type !== 'usage') continue;
        if (event.type === 'interim' || event.type === 'final') this.hooks.transcript(event.text, event.type === 'final');
        switch (event.type) {
          case 'final':
            if (event.text.trim() !== '') this.turnEnd.final(event.text.trim());
            break;
          case 'endpoint':
            if (this.options.turnEnd === 'stt') this.turnEnd.endNow();
            else if (this.options.turnEnd !== 'vad') this.turnEnd.providerEndOfUtterance();
            break;
          case 'usage':
            this.options.onEvent({ type: 'usage', kind: 'stt', provider, audioSeconds: event.audioSeconds });
            break;
          case 'error':
            if (stt === this.stt) this.hooks.fail(event.error, 'stt');
            return;
          case 'interim':
            break;
        }
      }
    } catch (error) {
      if (stt === this.stt) this.hooks.fail(error, 'stt');
    }
  }

  /**
   * A team member with another recogniser or language: `provider` is opened first, then the
   * caller's audio goes to it from the next frame on and the previous session is closed (it
   * finishes what it heard and reports its usage). If it cannot open, the previous one goes on.
   */
  async switchRecogniser(provider: SttProvider, language: string): Promise<{ stt: 'kept' | 'switched' | 'failed'; error?: unknown }> {
    let next: SttSession;
    try {
      next = await provider.start({ language, sampleRate: 16_000 });
    } catch (error) {
      return { stt: 'failed', error };
    }
    if (this.hooks.isEnded()) {
      next.close();
      return { stt: 'kept' };
    }
    this.options.stt = provider;
    const previous = this.stt;
    this.stt = next;
    previous.close();
    this.sttConsumed = Promise.all([this.sttConsumed, this.consumeStt(next, provider.name)]).then(() => undefined);
    return { stt: 'switched' };
  }

  /** Closes STT and waits (at most `waitMs`) for its last events: the usage it reports as it closes. */
  async closeStt(waitMs = 1000): Promise<void> {
    this.stt.close();
    await Promise.race([this.sttConsumed, new Promise((resolve) => setTimeout(resolve, waitMs))]);
  }

  private onVad(event: VadEvent): void {
    if (this.hooks.isEnded()) return;
    if (event.type === 'user-started-speaking') {
      this.userSpeaking = true;
      if (this.options.turnEnd !== 'stt') this.turnEnd.speechStarted();
      this.hooks.speechStarted(event);
      return;
    }
    this.userSpeaking = false;
    this.hooks.speechStopped();
    if (this.options.turnEnd !== 'stt') this.turnEnd.speechStopped(event.detectedAtMs - event.mediaTimeMs);
  }
}
