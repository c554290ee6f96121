import { randomUUID } from 'node:crypto';
import { appError, type Logger } from '@avp/shared';
import type {
  CallControl,
  CallHandle,
  ConnectOption,
  DigitsOption,
  ExternalMedia,
  ExternalMediaRequest,
  OriginateRequest,
  RecordingSink,
  SnoopMedia,
  SnoopMediaRequest,
  TalkOption,
} from '../domain/calls/call-control.ts';
import type { CallEvents } from '../domain/calls/call-events.ts';
import { AriChannels } from './ari-channels.ts';
import { AriClient, AriError, type AriConnection } from './ari-client.ts';
import { AriConnects } from './ari-connect.ts';
import { AriEventStream } from './ari-event-stream.ts';
import { AriExternalMedia } from './ari-external-media.ts';
import { AriPlaybacks } from './ari-playbacks.ts';
import { AriReconciler } from './ari-reconciler.ts';
import { AriRecordings } from './ari-recordings.ts';
import type { TelephonyRecords } from './ari-records.ts';
import { AriSnoops } from './ari-snoops.ts';
import type { AriChannel, AriEvent } from './ari-types.ts';
import { hangupReason } from './hangup-causes.ts';

/** Turns text into media Asterisk can play (`http://.../media/<id>.wav`) and says how long it lasts. */
export interface SpeechRenderer {
  render(text: string, language: string, voice: string): Promise<{ uri: string; durationMs: number }>;
}

/** Deadlines of the waits on Asterisk (all in ms). */
export interface AriTimeouts {
  /** A `play` of customer media (its length is unknown): default 10 minutes. */
  playbackMs: number;
  /** Added to a `talk`'s own length before its playback counts as lost: default 10 s. */
  talkMarginMs: number;
  /** An RTP external media channel (or a snoop channel) entering the app after Asterisk answered: default 5 s. */
  stasisMs: number;
  /** A WebSocket external media channel's client connecting: default 10 s. */
  mediaConnectMs: number;
}

export const defaultAriTimeouts: AriTimeouts = { playbackMs: 600_000, talkMarginMs: 10_000, stasisMs: 5000, mediaConnectMs: 10_000 };

/** Channel technologies that are never an inbound call: media legs and Asterisk's helper channels. */
const helperChannel = /^(UnicastRTP|WebSocket|AudioSocket|Snoop|Announcer|Recorder|Multicast)\//;

export interface AriTelephonyOptions {
  connection: AriConnection;
  logger: Logger;
  speech: SpeechRenderer;
  /** Dial string for `connect` to a phone number; `{target}` is replaced (default `PJSIP/{target}`). */
  telDialTemplate?: string;
  /** Longest pause between reconnects of the events socket (default 5 s). */
  maxReconnectDelayMs?: number;
  timeouts?: Partial<AriTimeouts>;
  /** Where what is created in Asterisk is recorded, and the calls and sessions it belongs to. */
  records: TelephonyRecords;
}

/** Our hang-up reasons that ARI's DELETE /channels/{id}?reason= spells differently. */
const ariHangupReasons: Record<string, string> = { noanswer: 'no_answer', cancel: 'normal', failed: 'failure' };

/** How long a bridge made over RPC may exist before its owner is recorded (the reconcile spares it). */
const recentBridgeMs = 60_000;

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
  private readonly externalMedia: AriExternalMedia;
  private readonly connects: AriConnects;
  private readonly snoops: AriSnoops;
  private readonly recordings: AriRecordings;
  private readonly reconciler: AriReconciler;
  /** Bridges made over RPC in the last minute: their owner is recorded right after they exist. */
  private readonly recentBridges = new Set<string>();
  private readonly timeouts: AriTimeouts;
  private callEvents: CallEvents | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: AriTelephonyOptions) {
    this.logger = options.logger.child({ component: 'ari' });
    this.client = new AriClient(options.connection);
    this.playbacks = new AriPlaybacks(this.client, this.channels, options.records);
    this.timeouts = { ...defaultAriTimeouts, ...options.timeouts };
    this.externalMedia = new AriExternalMedia(
      this.client,
      this.channels,
      options.connection,
      { stasisMs: this.timeouts.stasisMs, connectMs: this.timeouts.mediaConnectMs },
      options.records,
      this.logger,
    );
    this.connects = new AriConnects(this.client, this.channels, options.records, this.logger, options.telDialTemplate);
    this.snoops = new AriSnoops(this.client, this.channels, options.records, this.logger, this.timeouts.stasisMs);
    this.recordings = new AriRecordings(this.client, this.channels, options.records, this.logger, this.timeouts.stasisMs);
    this.reconciler = new AriReconciler({
      client: this.client,
      records: options.records,
      externalMedia: this.externalMedia,
      connects: this.connects,
      snoops: this.snoops,
      recordings: this.recordings,
      playbacks: this.playbacks,
      logger: this.logger,
      channelGone: (channelId, reason) => this.channelGone(channelId, reason),
      isRecentBridge: (bridgeId) => this.recentBridges.has(bridgeId),
    });
    this.events = new AriEventStream({
      connection: options.connection,
      logger: this.logger,
      maxDelayMs: options.maxReconnectDelayMs,
      onEvent: (event) => this.onEvent(event),
      onConnected: (reconnect) => (reconnect ? this.reconciler.reconcile() : Promise.resolve()),
    });
  }

  /** Connects the Stasis app; `callEvents` receives what happens to calls, `recordings` the recordings that ended. */
  async start(callEvents: CallEvents, recordings?: RecordingSink): Promise<void> {
    this.callEvents = callEvents;
    this.recordings.setSink(recordings);
    await this.events.start();
    await this.reconciler.reconcile();
  }

  async stop(): Promise<void> {
    await this.events.close();
    await this.recordings.idle();
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
    await this.playbacks.play(call.channelId, media.uri, signal, {
      language: option.language || undefined,
      timeoutMs: media.durationMs + this.timeouts.talkMarginMs,
    });
  }

  async play(call: CallHandle, urls: string[], signal: AbortSignal): Promise<void> {
    for (const url of urls) await this.playbacks.play(call.channelId, url, signal, { timeoutMs: this.timeouts.playbackMs });
  }

  async hangup(call: CallHandle, reason: string): Promise<void> {
    const state = this.channels.get(call.channelId);
    if (state) state.hungUpLocally = true;
    try {
      await this.client.hangup(call.channelId, ariHangupReasons[reason] ?? reason);
    } catch (error) {
      // Gone already: hanging up is done.
      if (!(error instanceof AriError && error.status === 404)) throw error;
    }
  }

  connect(call: CallHandle, option: ConnectOption, signal: AbortSignal): Promise<{ answered: boolean }> {
    return this.connects.connect(call, option, signal);
  }

  originate(request: OriginateRequest): Promise<void> {
    return this.connects.originateCall(request);
  }

  async collectDigits(call: CallHandle, option: DigitsOption, signal: AbortSignal): Promise<string> {
    return this.channels.collectDigits(call.channelId, option, signal);
  }

  startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    return this.externalMedia.start(call, request);
  }

  attachExternalMedia(call: CallHandle): Promise<ExternalMedia> {
    return this.externalMedia.attach(call.id);
  }

  async stopExternalMedia(call: CallHandle, channelId?: string): Promise<void> {
    await this.externalMedia.stop(call.id, channelId);
  }

  startSnoopMedia(call: CallHandle, request: SnoopMediaRequest): Promise<SnoopMedia> {
    return this.snoops.start(call, request);
  }

  stopSnoopMedia(call: CallHandle, channelId: string): Promise<boolean> {
    return this.snoops.stop(channelId, call.id);
  }

  startRecording(call: CallHandle, recordingId: string): Promise<void> {
    return this.recordings.start(call, recordingId);
  }

  stopRecording(call: CallHandle, recordingId: string): Promise<boolean> {
    return this.recordings.stop(recordingId, call.id);
  }

  async stopMedia(call: CallHandle): Promise<void> {
    await this.playbacks.stopOn(call.channelId);
  }

  async createBridge(name: string): Promise<string> {
    const bridgeId = `bridge-${randomUUID()}`;
    this.recentBridges.add(bridgeId);
    setTimeout(() => this.recentBridges.delete(bridgeId), recentBridgeMs).unref();
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
        this.channels.enteredStasis(channel.id);
        const state = this.channels.state(channel.id);
        // An outgoing call (POST /v1.0/calls) enters the app when it is answered.
        if (event.args?.[0] === 'call') {
          if (channel.state === 'Up') this.channels.markAnswered(channel.id);
          await this.callEvents?.outgoingAnswered(channel.id);
          return;
        }
        if (state.outbound || event.args?.[0] === 'connect' || isHelperChannel(channel)) {
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
      case 'Dial':
        // An outgoing call's far end rings (Dial RINGING; ChannelStateChange Ringing comes too).
        if (event.peer && event.dialstatus === 'RINGING' && !this.channels.get(event.peer.id)?.outbound) await this.callEvents?.ringing(event.peer.id);
        return;
      case 'ChannelStateChange':
        if (channel?.state === 'Ringing' && !this.channels.get(channel.id)?.outbound) await this.callEvents?.ringing(channel.id);
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
      case 'RecordingStarted':
      case 'RecordingFinished':
      case 'RecordingFailed':
        this.recordings.event(event);
        return;
      case 'ChannelHangupRequest':
      case 'StasisEnd':
      case 'ChannelDestroyed': {
        if (!channel) return;
        await this.channelGone(channel.id, hangupReason(event), isHelperChannel(channel), event.cause);
        return;
      }
      default:
        return;
    }
  }

  /** A channel's end, reported once however many events Asterisk sends about it. */
  private async channelGone(channelId: string, reason: string, helper = false, cause?: number): Promise<void> {
    const { state, first } = this.channels.remove(channelId);
    if (!first) return;
    // A caller gone takes its external media leg and bridge with it.
    const mediaCallId = this.externalMedia.callOf(channelId);
    if (mediaCallId) await this.externalMedia.stop(mediaCallId);
    // A caller gone takes its snoop media legs; a snoop (ended with its target, or hung up) or
    // their RTP channel gone takes its own leg (Asterisk leaves the rest).
    await this.snoops.channelGone(channelId);
    this.recordings.channelGone(channelId);
    await this.connects.channelGone(channelId);
    // The flow hears of it first (a hard stop aborts what it waits for); waiters after.
    if (!state?.outbound && !helper) await this.callEvents?.hungUp(channelId, reason, state?.hungUpLocally ? 'local' : 'remote', cause);
    if (state) for (const listener of [...state.hangupListeners]) listener(appError('INVALID_STATE', `The call hung up (${reason}).`));
  }
}

function isHelperChannel(channel: AriChannel): boolean {
  return helperChannel.test(channel.name);
}
