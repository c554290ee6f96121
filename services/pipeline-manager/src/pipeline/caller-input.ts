import type { AudioFrame } from '../media/audio-format.ts';
import type { VadEvent } from '../media/vad/voice-activity-detector.ts';
import type { SttSession } from '../providers/types.ts';
import type { ConversationOptions, TurnLatency } from './conversation-types.ts';

/** What the caller's side needs of the conversation it feeds. */
export interface CallerInputHooks {
  isEnded(): boolean;
  /** The bot is speaking (or its audio is still playing). */
  botIsActive(): boolean;
  /** A last text is being said (sayAndStop): caller speech does not cut it off. */
  isClosing(): boolean;
  /** Caller speech over the bot: stop the bot, keep what was heard. */
  bargeIn(): void;
  /** The caller's turn is over: `text` is what they said. */
  userTurn(text: string, latency: Partial<TurnLatency>): void;
  fail(error: unknown, stage: 'stt' | 'vad'): void;
}

/**
 * The caller's side of a conversation: audio to VAD and STT, barge-in decisions on VAD
 * speech starts, and the endpointing policy that decides when the caller's turn is over.
 */
export class CallerInput {
  private userFinals: string[] = [];
  private userSpeaking = false;
  private userStoppedAt: number | undefined;
  private sttFinalAt: number | undefined;
  private waitingForTranscript: NodeJS.Timeout | undefined;
  private interruptionTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ConversationOptions,
    private readonly stt: SttSession,
    private readonly now: () => number,
    private readonly hooks: CallerInputHooks,
  ) {}

  /** Stops the pending timers (the conversation ended). */
  cancelTimers(): void {
    clearTimeout(this.waitingForTranscript);
    clearTimeout(this.interruptionTimer);
  }

  onAudio(frame: AudioFrame): void {
    if (this.hooks.isEnded()) return;
    this.stt.write(frame);
    this.options.vad.process(frame).then(
      (events) => {
        for (const event of events) this.onVad(event);
      },
      (error: unknown) => this.hooks.fail(error, 'vad'),
    );
  }

  /** Reads STT's events until the session ends or fails. */
  async consumeStt(): Promise<void> {
    try {
      for await (const event of this.stt.events) {
        if (this.hooks.isEnded()) return;
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
            this.hooks.fail(event.error, 'stt');
            return;
          case 'interim':
            break;
        }
      }
    } catch (error) {
      this.hooks.fail(error, 'stt');
    }
  }

  private onVad(event: VadEvent): void {
    if (this.hooks.isEnded()) return;
    if (event.type === 'user-started-speaking') {
      this.userSpeaking = true;
      // A last text (sayAndStop) is not cut off: the caller hears why the call ends.
      if (!this.hooks.botIsActive() || this.hooks.isClosing()) return;
      const minimum = this.options.interruptionMinMs ?? 0;
      if (minimum <= 0) {
        this.hooks.bargeIn();
        return;
      }
      clearTimeout(this.interruptionTimer);
      this.interruptionTimer = setTimeout(() => {
        if (this.userSpeaking && this.hooks.botIsActive()) this.hooks.bargeIn();
      }, minimum);
      return;
    }
    this.userSpeaking = false;
    clearTimeout(this.interruptionTimer);
    this.userStoppedAt = this.now();
    this.endUserTurn('vad');
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
    this.hooks.userTurn(text, { userStoppedAt: this.userStoppedAt, sttFinalAt: this.sttFinalAt });
  }
}
