import type { z } from 'zod';
import type { actionOptionSchemas } from '@avp/shared';

export type TalkOption = z.output<(typeof actionOptionSchemas)['talk']>;
export type ConnectOption = z.output<(typeof actionOptionSchemas)['connect']>;

/** An outgoing call to place: the call record exists already and names `channelId`. */
export interface OriginateRequest {
  callId: string;
  channelId: string;
  destination: ConnectOption['destinations'][number];
  /** Caller id shown to the called party. */
  source: string;
  /** Seconds to ring before Asterisk gives up (the call ends `noanswer`). */
  timeout: number;
}
export type DigitsOption = z.output<(typeof actionOptionSchemas)['digits_receive']>;

/** The call an action works on, as the call controller knows it. */
export interface CallHandle {
  id: string;
  channelId: string;
  source: string;
  destination: string;
}

/** Where a call's audio goes for pipeline-manager: an RTP peer or Asterisk's WebSocket media. */
export interface ExternalMediaRequest {
  /** `rtp`: Asterisk sends RTP to `externalHost` (`host:port`); `websocket`: Asterisk serves a media WebSocket. */
  transport: 'rtp' | 'websocket';
  externalHost?: string;
  /** ulaw, alaw or slin16. */
  format: 'ulaw' | 'alaw' | 'slin16';
}

/** What Asterisk answered: where to send audio back (RTP) or where to connect (WebSocket). */
export interface ExternalMedia {
  channelId: string;
  bridgeId: string;
  /** RTP: Asterisk's own address and port for the audio we send (UNICASTRTP_LOCAL_*). */
  localAddress?: string;
  localPort?: number;
  /** WebSocket: the URL to connect to (`ws://<asterisk>/media/<connection id>`). */
  websocketUrl?: string;
  /**
   * True while the leg waits for its client (WebSocket): it is bridged by `attachExternalMedia`
   * once the client has connected. RTP legs are bridged before `startExternalMedia` answers.
   */
  pending: boolean;
}

/**
 * A per-direction media leg (for live transcription): a snoop on the caller's channel carried
 * over RTP to `externalHost`. `in` is the caller's own voice, `out` what the caller hears.
 */
export interface SnoopMediaRequest {
  direction: 'in' | 'out';
  /** `host:port` where Asterisk sends the RTP. */
  externalHost: string;
  /** ulaw, alaw or slin16 (the leg only sends, so slin16 works over RTP here). */
  format: 'ulaw' | 'alaw' | 'slin16';
}

/** A snoop media leg as created: its external media channel (the leg's id), snoop and bridge. */
export interface SnoopMedia {
  channelId: string;
  snoopChannelId: string;
  bridgeId: string;
  /** Asterisk's own address and port the RTP comes from (UNICASTRTP_LOCAL_*). */
  localAddress: string;
  localPort: number;
}

/** The two sides of a call as a recording holds them: `in` what the caller said, `out` what it heard. */
export type RecordingSide = 'in' | 'out';

/**
 * How a recording the telephony side made ended: each side's file as Asterisk stored it (a WAV;
 * missing when Asterisk stored none), or why nothing could be recorded.
 */
export interface RecordingOutcome {
  files: Partial<Record<RecordingSide, Buffer>>;
  failure?: string;
}

/** Told when a recording of a call has ended (stopped, or the call hung up); the telephony side's files are dropped once it resolves. */
export interface RecordingSink {
  recordingEnded(recordingId: string, outcome: RecordingOutcome): Promise<void>;
}

/**
 * What the flow engine asks of the telephony side. The ARI implementation drives Asterisk;
 * tests use a double. Every waiting operation stops early (rejecting) when `signal` aborts,
 * and rejects when the call hangs up.
 */
export interface CallControl {
  answer(call: CallHandle): Promise<void>;
  /** Speaks text (offline TTS) into the call; resolves when it has been played. */
  talk(call: CallHandle, option: TalkOption, signal: AbortSignal): Promise<void>;
  /** Plays media URIs one after another; resolves when done. */
  play(call: CallHandle, urls: string[], signal: AbortSignal): Promise<void>;
  hangup(call: CallHandle, reason: string): Promise<void>;
  /**
   * Calls the destinations and bridges the first that answers with the call; resolves when
   * that bridge ends (the callee hung up) with `answered`, or with answered=false when nobody
   * answered within the timeout.
   */
  connect(call: CallHandle, option: ConnectOption, signal: AbortSignal): Promise<{ answered: boolean }>;
  /**
   * Places an outgoing call; resolves once the telephony side took it. What happens next (it
   * rings, is answered, ends) arrives as call events (`CallEvents`).
   */
  originate(request: OriginateRequest): Promise<void>;
  /** Collects DTMF digits (those pressed before count too); resolves with what was collected. */
  collectDigits(call: CallHandle, option: DigitsOption, signal: AbortSignal): Promise<string>;
  /** Connects the call's audio to an external media leg (for pipeline-manager), in a bridge of its own. */
  startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia>;
  /** Bridges a pending (WebSocket) leg once its client has connected; waits for Asterisk within a deadline. */
  attachExternalMedia(call: CallHandle): Promise<ExternalMedia>;
  /**
   * Removes the external media leg and its bridge (idempotent). With `channelId`, only when the
   * call's leg is still that channel: a pipeline replaced by another (crash resumption) cannot
   * remove its successor's leg.
   */
  stopExternalMedia(call: CallHandle, channelId?: string): Promise<void>;
  /**
   * Adds a per-direction media leg to the call (a snoop, an RTP channel and a bridge of their
   * own); the call's own bridge and media leg are left as they are.
   */
  startSnoopMedia(call: CallHandle, request: SnoopMediaRequest): Promise<SnoopMedia>;
  /** Removes one of the call's snoop media legs by its channel id; false when the call has no such leg. */
  stopSnoopMedia(call: CallHandle, channelId: string): Promise<boolean>;
  /**
   * Records both sides of the call apart (a snoop per direction, each recorded by Asterisk);
   * resolves once both record. When they end (`stopRecording`, or the call hangs up) the files
   * go to the RecordingSink. Another recording, a snoop media leg or an AI session's leg on the
   * same call is not touched.
   */
  startRecording(call: CallHandle, recordingId: string): Promise<void>;
  /** Asks a running recording to stop (its end reaches the sink); false when this side does not know it. */
  stopRecording(call: CallHandle, recordingId: string): Promise<boolean>;
  /** Stops whatever is playing on the call. */
  stopMedia(call: CallHandle): Promise<void>;
  /** Creates a mixing bridge; returns its id. */
  createBridge(name: string): Promise<string>;
  /** Moves calls into a bridge (out of any other bridge first). */
  addToBridge(bridgeId: string, calls: CallHandle[]): Promise<void>;
  removeFromBridge(bridgeId: string, calls: CallHandle[]): Promise<void>;
  destroyBridge(bridgeId: string): Promise<void>;
}
