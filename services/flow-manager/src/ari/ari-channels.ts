import { appError } from '@avp/shared';
import type { DigitsOption } from '../domain/calls/call-control.ts';

/** Per-channel state kept while the call is up. */
export interface ChannelState {
  digits: string;
  digitListeners: Set<() => void>;
  hangupListeners: Set<(error: Error) => void>;
  /** Set when the channel is a leg we originated for `connect`. */
  outbound: boolean;
  /** We asked Asterisk to hang it up (so its end is not the caller's doing). */
  hungUpLocally: boolean;
  answered: boolean;
  answerListeners: Set<() => void>;
}

/**
 * The channels the Stasis app knows of, and the waits on what happens to them: an answer,
 * a hangup, digits. Every wait ends early when its signal aborts or the channel hangs up.
 */
export class AriChannels {
  private readonly channels = new Map<string, ChannelState>();
  /** Channels that have entered the Stasis app, and those waiting for one to enter. */
  private readonly inStasis = new Set<string>();
  private readonly stasisWaiters = new Map<string, Set<() => void>>();
  /**
   * Channels already reported gone. Asterisk sends several events for one hang-up (two
   * ChannelHangupRequest for a Stasis channel, one of them soft, then StasisEnd and
   * ChannelDestroyed); the first ends the call and the others are ignored. Bounded: the oldest
   * ids are forgotten.
   */
  private readonly gone = new Set<string>();
  private static readonly goneLimit = 10_000;

  /** The state of a channel, if it is known. */
  get(channelId: string): ChannelState | undefined {
    return this.channels.get(channelId);
  }

  /** The state of a channel, created when it is not known yet. */
  state(channelId: string): ChannelState {
    let state = this.channels.get(channelId);
    if (!state) {
      state = {
        digits: '',
        digitListeners: new Set(),
        hangupListeners: new Set(),
        outbound: false,
        hungUpLocally: false,
        answered: false,
        answerListeners: new Set(),
      };
      this.channels.set(channelId, state);
    }
    return state;
  }

  /**
   * Forgets a channel (it is gone). Answers the state it had and whether this is the first
   * report of its end (later events about the same hang-up answer `first: false`).
   */
  remove(channelId: string): { state: ChannelState | undefined; first: boolean } {
    const state = this.channels.get(channelId);
    this.channels.delete(channelId);
    this.inStasis.delete(channelId);
    const first = !this.gone.has(channelId);
    if (first) {
      this.gone.add(channelId);
      if (this.gone.size > AriChannels.goneLimit) this.gone.delete(this.gone.values().next().value!);
    }
    return { state, first };
  }

  /** Whether the channel's end has been reported already. */
  isGone(channelId: string): boolean {
    return this.gone.has(channelId);
  }

  /** StasisStart: the channel is in the app (ARI may now bridge it). */
  enteredStasis(channelId: string): void {
    this.inStasis.add(channelId);
    for (const resolve of this.stasisWaiters.get(channelId) ?? []) resolve();
    this.stasisWaiters.delete(channelId);
  }

  /**
   * Waits until the channel has entered the Stasis app. Asterisk answers POST
   * /channels/externalMedia before the new channel is in the app (it enters on another
   * thread), and a WebSocket media channel enters only once its client connected; ARI refuses
   * to bridge a channel before that (422 "Channel not in Stasis application").
   */
  waitForStasis(channelId: string, timeoutMs: number, what: string): Promise<void> {
    if (this.inStasis.has(channelId)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiters = this.stasisWaiters.get(channelId) ?? new Set<() => void>();
      this.stasisWaiters.set(channelId, waiters);
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(appError('TELEPHONY_TIMEOUT', `${what} did not enter the Stasis application within ${timeoutMs} ms.`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.add(done);
    });
  }

  markAnswered(channelId: string): void {
    const state = this.channels.get(channelId);
    if (!state || state.answered) return;
    state.answered = true;
    for (const listener of [...state.answerListeners]) listener();
  }

  /** Collects DTMF digits (buffered ones first) up to the length, the end key or the duration. */
  collectDigits(channelId: string, option: DigitsOption, signal: AbortSignal): Promise<string> {
    const state = this.state(channelId);
    return new Promise<string>((resolve, reject) => {
      let collected = '';
      const finish = (error?: Error) => {
        clearTimeout(timer);
        state.digitListeners.delete(onDigit);
        state.hangupListeners.delete(onHangup);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(collected);
      };
      const onDigit = () => {
        while (state.digits.length > 0) {
          const digit = state.digits[0]!;
          state.digits = state.digits.slice(1);
          if (option.key && digit === option.key) return finish();
          collected += digit;
          if (collected.length >= option.length) return finish();
        }
      };
      const onHangup = (error: Error) => finish(error);
      const onAbort = () => finish(new Error('aborted'));
      const timer = setTimeout(() => finish(), option.duration);
      state.digitListeners.add(onDigit);
      state.hangupListeners.add(onHangup);
      signal.addEventListener('abort', onAbort, { once: true });
      onDigit();
    });
  }

  /** Waits for the first of the legs to answer; undefined after the timeout or if all fail. */
  firstAnswered(channelIds: string[], callerChannelId: string, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
    return new Promise<string | undefined>((resolve, reject) => {
      const cleanups: (() => void)[] = [];
      let failed = 0;
      const finish = (winner: string | undefined, error?: Error) => {
        for (const cleanup of cleanups) cleanup();
        if (error) reject(error);
        else resolve(winner);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      cleanups.push(() => clearTimeout(timer));
      for (const channelId of channelIds) {
        const state = this.state(channelId);
        const onAnswer = () => finish(channelId);
        const onHangup = () => {
          failed++;
          if (failed === channelIds.length) finish(undefined);
        };
        if (state.answered) return finish(channelId);
        state.answerListeners.add(onAnswer);
        state.hangupListeners.add(onHangup);
        cleanups.push(() => {
          state.answerListeners.delete(onAnswer);
          state.hangupListeners.delete(onHangup);
        });
      }
      const caller = this.state(callerChannelId);
      const onCallerHangup = (error: Error) => finish(undefined, error);
      caller.hangupListeners.add(onCallerHangup);
      cleanups.push(() => caller.hangupListeners.delete(onCallerHangup));
      const onAbort = () => finish(undefined, new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    });
  }

  untilHangup(channelId: string, signal: AbortSignal): Promise<void> {
    const state = this.channels.get(channelId);
    if (!state) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onHangup = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        state.hangupListeners.delete(onHangup);
        reject(new Error('aborted'));
      };
      state.hangupListeners.add(onHangup);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
