import { randomUUID } from 'node:crypto';
import { appError, type Logger } from '@avp/shared';
import type {
  CallControl,
  CallHandle,
  ConnectOption,
  DigitsOption,
  ExternalMedia,
  ExternalMediaRequest,
  TalkOption,
} from '../domain/calls/call-control.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { AriClient, AriError, type AriConnection } from './ari-client.ts';
import { AriEventStream } from './ari-event-stream.ts';
import type { AriEvent } from './ari-types.ts';

/** Turns text into a media URI Asterisk can play (`http://.../media/<id>.wav`, `sound:...`). */
export interface SpeechRenderer {
  render(text: string, language: string, voice: string): Promise<string>;
}

export interface AriTelephonyOptions {
  connection: AriConnection;
  logger: Logger;
  speech: SpeechRenderer;
  /** Dial string for `connect` to a phone number; `{target}` is replaced (default `PJSIP/{target}`). */
  telDialTemplate?: string;
  /** Longest pause between reconnects of the events socket (default 5 s). */
  maxReconnectDelayMs?: number;
  /** Live calls to check after a reconnect: channel ids flow-manager believes are up. */
  liveChannels(): Promise<string[]>;
}

/** Something waiting for an ARI event about a channel or playback. */
interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** Per-channel state kept while the call is up. */
interface ChannelState {
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
 * Call control over Asterisk's ARI, and the Stasis app that feeds flow-manager: inbound
 * calls (StasisStart) start their number's flow, hangups end it, DTMF is buffered for
 * `digits_receive` and published. Every waiting operation (a playback, a connect, digit
 * collection) ends early when its signal aborts or the call hangs up.
 */
export class AriTelephony implements CallControl {
  readonly client: AriClient;
  private readonly events: AriEventStream;
  private readonly channels = new Map<string, ChannelState>();
  private readonly playbacks = new Map<string, Waiter>();
  /** The channel each running playback plays on. */
  private readonly playbackChannels = new Map<string, string>();
  /** External media legs by call id. */
  private readonly externalMedia = new Map<string, ExternalMedia>();
  /** Call id of the external media leg attached to a caller's channel. */
  private readonly externalMediaOfChannel = new Map<string, string>();
  private callEvents: CallEvents | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: AriTelephonyOptions) {
    this.logger = options.logger.child({ component: 'ari' });
    this.client = new AriClient(options.connection);
    this.events = new AriEventStream({
      connection: options.connection,
      logger: this.logger,
      maxDelayMs: options.maxReconnectDelayMs,
      onEvent: (event) => this.onEvent(event),
      onConnected: (reconnect) => (reconnect ? this.reconcile() : Promise.resolve()),
    });
  }

  /** Connects the Stasis app; `callEvents` receives what happens to calls. */
  async start(callEvents: CallEvents): Promise<void> {
    this.callEvents = callEvents;
    await this.events.start();
    await this.reconcile();
  }

  async stop(): Promise<void> {
    await this.events.close();
  }

  isConnected(): boolean {
    return this.events.isConnected();
  }

  /** For tests: drops the events socket as a network failure would. */
  dropEventsConnection(): void {
    this.events.dropForTest();
  }

  // ---- CallControl -------------------------------------------------------------------

  async answer(call: CallHandle): Promise<void> {
    await this.client.answer(call.channelId);
  }

  async talk(call: CallHandle, option: TalkOption, signal: AbortSignal): Promise<void> {
    const media = await this.options.speech.render(option.text, option.language, option.voice);
    await this.playOne(call.channelId, media, signal, option.language || undefined);
  }

  async play(call: CallHandle, urls: string[], signal: AbortSignal): Promise<void> {
    for (const url of urls) await this.playOne(call.channelId, url, signal);
  }

  async hangup(call: CallHandle, reason: string): Promise<void> {
    const state = this.channels.get(call.channelId);
    if (state) state.hungUpLocally = true;
    try {
      await this.client.hangup(call.channelId, reason === 'noanswer' ? 'no_answer' : reason);
    } catch (error) {
      // Gone already: hanging up is done.
      if (!(error instanceof AriError && error.status === 404)) throw error;
    }
  }

  async connect(call: CallHandle, option: ConnectOption, signal: AbortSignal): Promise<{ answered: boolean }> {
    const legs = option.destinations.map((destination) => ({
      channelId: `connect-${randomUUID()}`,
      endpoint: destination.type === 'tel' ? (this.options.telDialTemplate ?? 'PJSIP/{target}').replace('{target}', destination.target) : destination.target,
    }));
    for (const leg of legs) this.channelState(leg.channelId).outbound = true;
    const callerId = option.source ?? call.source;
    await Promise.all(
      legs.map((leg) =>
        this.client
          .originate({ endpoint: leg.endpoint, channelId: leg.channelId, appArgs: `connect,${call.id}`, callerId, timeout: option.timeout })
          .catch((error: unknown) => this.logger.warn({ err: error, endpoint: leg.endpoint }, 'originate failed')),
      ),
    );
    const winner = await this.firstAnswered(legs.map((leg) => leg.channelId), call.channelId, option.timeout * 1000, signal);
    // Every other leg is hung up: only one callee talks to the caller.
    for (const leg of legs) if (leg.channelId !== winner) await this.client.hangup(leg.channelId).catch(() => undefined);
    if (!winner) return { answered: false };

    const bridgeId = `connect-${randomUUID()}`;
    await this.client.createBridge(bridgeId, `connect ${call.id}`);
    try {
      await this.client.addChannel(bridgeId, [call.channelId, winner]);
      // The connection lasts until the callee hangs up (the caller hanging up ends the flow).
      await this.untilHangup(winner, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
      });
    } finally {
      await this.client.hangup(winner).catch(() => undefined);
      await this.client.destroyBridge(bridgeId).catch(() => undefined);
    }
    return { answered: true };
  }

  async collectDigits(call: CallHandle, option: DigitsOption, signal: AbortSignal): Promise<string> {
    const state = this.channelState(call.channelId);
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

  async startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    await this.stopExternalMedia(call);
    const bridgeId = `media-${call.id}`;
    const channelId = `media-${call.id}-${randomUUID().slice(0, 8)}`;
    this.channelState(channelId).outbound = true;
    await this.client.createBridge(bridgeId, `media ${call.id}`);
    try {
      const channel = await this.client.externalMedia({
        channelId,
        format: request.format,
        ...(request.transport === 'rtp'
          ? { external_host: request.externalHost, encapsulation: 'rtp', transport: 'udp' }
          : { external_host: 'INCOMING', encapsulation: 'none', transport: 'websocket', connection_type: 'server' }),
      });
      await this.client.addChannel(bridgeId, [call.channelId, channelId]);
      const variables = channel.channelvars ?? {};
      const media: ExternalMedia = { channelId, bridgeId };
      if (request.transport === 'rtp') {
        media.localAddress = variables.UNICASTRTP_LOCAL_ADDRESS;
        media.localPort = Number(variables.UNICASTRTP_LOCAL_PORT);
      } else {
        const base = this.options.connection.url.replace(/^http/, 'ws').replace(/\/$/, '');
        media.websocketUrl = `${base}/media/${variables.MEDIA_WEBSOCKET_CONNECTION_ID ?? ''}`;
      }
      this.externalMedia.set(call.id, media);
      this.externalMediaOfChannel.set(call.channelId, call.id);
      return media;
    } catch (error) {
      await this.client.hangup(channelId).catch(() => undefined);
      await this.client.destroyBridge(bridgeId).catch(() => undefined);
      throw error;
    }
  }

  async stopExternalMedia(call: CallHandle): Promise<void> {
    const media = this.externalMedia.get(call.id);
    if (!media) return;
    this.externalMedia.delete(call.id);
    this.externalMediaOfChannel.delete(call.channelId);
    await this.client.hangup(media.channelId).catch(() => undefined);
    await this.client.destroyBridge(media.bridgeId).catch(() => undefined);
  }

  async stopMedia(call: CallHandle): Promise<void> {
    for (const [playbackId, waiter] of [...this.playbacks]) {
      if (this.playbackChannels.get(playbackId) !== call.channelId) continue;
      await this.client.stopPlayback(playbackId).catch(() => undefined);
      waiter.resolve();
    }
  }

  async createBridge(name: string): Promise<string> {
    const bridgeId = `bridge-${randomUUID()}`;
    await this.client.createBridge(bridgeId, name);
    return bridgeId;
  }

  async addToBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    await this.client.addChannel(bridgeId, calls.map((call) => call.channelId));
  }

  async removeFromBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    await this.client.removeChannel(bridgeId, calls.map((call) => call.channelId));
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    try {
      await this.client.destroyBridge(bridgeId);
    } catch (error) {
      if (!(error instanceof AriError && error.status === 404)) throw error;
    }
  }

  // ---- events ------------------------------------------------------------------------

  private async onEvent(event: AriEvent): Promise<void> {
    const channel = event.channel;
    switch (event.type) {
      case 'StasisStart': {
        if (!channel) return;
        const state = this.channelState(channel.id);
        if (state.outbound || event.args?.[0] === 'connect') {
          state.outbound = true;
          if (channel.state === 'Up') this.markAnswered(channel.id);
          return;
        }
        await this.callEvents?.incoming({
          channelId: channel.id,
          source: channel.caller.number,
          destination: channel.dialplan?.exten ?? '',
        });
        return;
      }
      case 'ChannelStateChange':
        if (channel?.state === 'Up') {
          this.markAnswered(channel.id);
          if (!this.channels.get(channel.id)?.outbound) await this.callEvents?.answered(channel.id);
        }
        return;
      case 'ChannelDtmfReceived': {
        if (!channel || !event.digit) return;
        const state = this.channelState(channel.id);
        state.digits += event.digit;
        for (const listener of [...state.digitListeners]) listener();
        if (!state.outbound) await this.callEvents?.dtmf(channel.id, event.digit, event.duration_ms ?? 0);
        return;
      }
      case 'PlaybackFinished': {
        const waiter = event.playback ? this.playbacks.get(event.playback.id) : undefined;
        if (!waiter || !event.playback) return;
        this.playbacks.delete(event.playback.id);
        if (event.playback.state === 'failed') waiter.reject(new Error(`Asterisk could not play ${event.playback.media_uri}.`));
        else waiter.resolve();
        return;
      }
      case 'ChannelHangupRequest':
      case 'StasisEnd':
      case 'ChannelDestroyed': {
        if (!channel) return;
        const reason = event.cause_txt ?? (event.type === 'ChannelHangupRequest' ? 'hangup requested' : 'left the application');
        await this.channelGone(channel.id, reason);
        return;
      }
      default:
        return;
    }
  }

  private async channelGone(channelId: string, reason: string): Promise<void> {
    const state = this.channels.get(channelId);
    this.channels.delete(channelId);
    // A caller gone takes its external media leg and bridge with it.
    const mediaCallId = this.externalMediaOfChannel.get(channelId);
    if (mediaCallId) {
      await this.stopExternalMedia({ id: mediaCallId, channelId, source: '', destination: '' });
    }
    // The flow hears of it first (a hard stop aborts what it waits for); waiters after.
    if (!state?.outbound) await this.callEvents?.hungUp(channelId, reason, state?.hungUpLocally ? 'local' : 'remote');
    if (state) for (const listener of [...state.hangupListeners]) listener(appError('INVALID_STATE', `The call hung up (${reason}).`));
  }

  /** After a reconnect: calls whose channel vanished meanwhile are ended. */
  private async reconcile(): Promise<void> {
    let present: Set<string>;
    try {
      present = new Set((await this.client.listChannels()).map((channel) => channel.id));
    } catch (error) {
      this.logger.warn({ err: error }, 'could not list channels to reconcile calls');
      return;
    }
    const live = await this.options.liveChannels();
    const vanished = live.filter((channelId) => !present.has(channelId));
    if (vanished.length > 0) this.logger.warn({ vanished: vanished.length }, 'ending calls whose channels vanished while disconnected');
    for (const channelId of vanished) await this.channelGone(channelId, 'the channel vanished while ARI was disconnected');
  }

  // ---- helpers -----------------------------------------------------------------------

  private channelState(channelId: string): ChannelState {
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

  private markAnswered(channelId: string): void {
    const state = this.channels.get(channelId);
    if (!state || state.answered) return;
    state.answered = true;
    for (const listener of [...state.answerListeners]) listener();
  }

  private async playOne(channelId: string, media: string, signal: AbortSignal, language?: string): Promise<void> {
    if (signal.aborted) throw new Error('aborted');
    const playbackId = randomUUID();
    const state = this.channelState(channelId);
    const finished = new Promise<void>((resolve, reject) => {
      const onHangup = (error: Error) => done(error);
      const onAbort = () => {
        void this.client.stopPlayback(playbackId).catch(() => undefined);
        done(new Error('aborted'));
      };
      const done = (error?: Error) => {
        this.playbacks.delete(playbackId);
        this.playbackChannels.delete(playbackId);
        state.hangupListeners.delete(onHangup);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      this.playbacks.set(playbackId, { resolve: () => done(), reject: (error) => done(error) });
      this.playbackChannels.set(playbackId, channelId);
      state.hangupListeners.add(onHangup);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    finished.catch(() => undefined);
    try {
      await this.client.play(channelId, media, playbackId, language);
    } catch (error) {
      this.playbacks.get(playbackId)?.reject(error as Error);
    }
    await finished;
  }

  /** Waits for the first of the legs to answer; undefined after the timeout or if all fail. */
  private firstAnswered(channelIds: string[], callerChannelId: string, timeoutMs: number, signal: AbortSignal): Promise<string | undefined> {
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
        const state = this.channelState(channelId);
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
      const caller = this.channelState(callerChannelId);
      const onCallerHangup = (error: Error) => finish(undefined, error);
      caller.hangupListeners.add(onCallerHangup);
      cleanups.push(() => caller.hangupListeners.delete(onCallerHangup));
      const onAbort = () => finish(undefined, new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private untilHangup(channelId: string, signal: AbortSignal): Promise<void> {
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
