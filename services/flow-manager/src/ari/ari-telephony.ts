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
import { AriChannels } from './ari-channels.ts';
import { AriClient, AriError, type AriConnection } from './ari-client.ts';
import { AriEventStream } from './ari-event-stream.ts';
import { AriPlaybacks } from './ari-playbacks.ts';
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

/**
 * Call control over Asterisk's ARI, and the Stasis app that feeds flow-manager: inbound
 * calls (StasisStart) start their number's flow, hangups end it, DTMF is buffered for
 * `digits_receive` and published. Every waiting operation (a playback, a connect, digit
 * collection) ends early when its signal aborts or the call hangs up.
 */
export class AriTelephony implements CallControl {
  readonly client: AriClient;
  private readonly events: AriEventStream;
  private readonly channels = new AriChannels();
  private readonly playbacks: AriPlaybacks;
  /** External media legs by call id. */
  private readonly externalMedia = new Map<string, ExternalMedia>();
  /** Call id of the external media leg attached to a caller's channel. */
  private readonly externalMediaOfChannel = new Map<string, string>();
  private callEvents: CallEvents | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: AriTelephonyOptions) {
    this.logger = options.logger.child({ component: 'ari' });
    this.client = new AriClient(options.connection);
    this.playbacks = new AriPlaybacks(this.client, this.channels);
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
    await this.playbacks.play(call.channelId, media, signal, option.language || undefined);
  }

  async play(call: CallHandle, urls: string[], signal: AbortSignal): Promise<void> {
    for (const url of urls) await this.playbacks.play(call.channelId, url, signal);
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
    for (const leg of legs) this.channels.state(leg.channelId).outbound = true;
    const callerId = option.source ?? call.source;
    await Promise.all(
      legs.map((leg) =>
        this.client
          .originate({ endpoint: leg.endpoint, channelId: leg.channelId, appArgs: `connect,${call.id}`, callerId, timeout: option.timeout })
          .catch((error: unknown) => this.logger.warn({ err: error, endpoint: leg.endpoint }, 'originate failed')),
      ),
    );
    const winner = await this.channels.firstAnswered(legs.map((leg) => leg.channelId), call.channelId, option.timeout * 1000, signal);
    // Every other leg is hung up: only one callee talks to the caller.
    for (const leg of legs) if (leg.channelId !== winner) await this.client.hangup(leg.channelId).catch(() => undefined);
    if (!winner) return { answered: false };

    const bridgeId = `connect-${randomUUID()}`;
    await this.client.createBridge(bridgeId, `connect ${call.id}`);
    try {
      await this.client.addChannel(bridgeId, [call.channelId, winner]);
      // The connection lasts until the callee hangs up (the caller hanging up ends the flow).
      await this.channels.untilHangup(winner, signal).catch((error: unknown) => {
        if (signal.aborted) throw error;
      });
    } finally {
      await this.client.hangup(winner).catch(() => undefined);
      await this.client.destroyBridge(bridgeId).catch(() => undefined);
    }
    return { answered: true };
  }

  async collectDigits(call: CallHandle, option: DigitsOption, signal: AbortSignal): Promise<string> {
    return this.channels.collectDigits(call.channelId, option, signal);
  }

  async startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    await this.stopExternalMedia(call);
    const bridgeId = `media-${call.id}`;
    const channelId = `media-${call.id}-${randomUUID().slice(0, 8)}`;
    this.channels.state(channelId).outbound = true;
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
    await this.playbacks.stopOn(call.channelId);
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
        const state = this.channels.state(channel.id);
        if (state.outbound || event.args?.[0] === 'connect') {
          state.outbound = true;
          if (channel.state === 'Up') this.channels.markAnswered(channel.id);
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
          this.channels.markAnswered(channel.id);
          if (!this.channels.get(channel.id)?.outbound) await this.callEvents?.answered(channel.id);
        }
        return;
      case 'ChannelDtmfReceived': {
        if (!channel || !event.digit) return;
        const state = this.channels.state(channel.id);
        state.digits += event.digit;
        for (const listener of [...state.digitListeners]) listener();
        if (!state.outbound) await this.callEvents?.dtmf(channel.id, event.digit, event.duration_ms ?? 0);
        return;
      }
      case 'PlaybackFinished':
        this.playbacks.finished(event.playback);
        return;
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
    const state = this.channels.remove(channelId);
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
}
