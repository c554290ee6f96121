/** An external media leg as recorded: enough to re-adopt it in another process. */
export interface StoredMediaLeg {
  callId: string;
  callerChannelId: string;
  channelId: string;
  bridgeId: string;
  transport: 'rtp' | 'websocket';
  pending: boolean;
  localAddress?: string;
  localPort?: number;
  websocketUrl?: string;
}

/**
 * A `connect` (its callee channels and, once one answered, the bridge), a playback, a snoop
 * media leg (id: its external media channel; channels: the snoop and that channel; its bridge),
 * or a recording (id: the recording's; channels: its `in` and `out` snoops, also the names of
 * their live recordings in Asterisk; no bridge).
 */
export interface StoredObject {
  id: string;
  kind: 'connect' | 'playback' | 'snoop' | 'recording';
  callId: string | undefined;
  callerChannelId: string;
  channelIds: string[];
  bridgeId: string | undefined;
}

/**
 * Where the ARI side records what it creates in Asterisk, so that nothing depends on one
 * process's memory: everything is recorded before it is created and forgotten once it is gone.
 * A flow-manager that starts or reconnects compares the records with what Asterisk has.
 */
export interface TelephonyRecords {
  /** Channel ids of the calls flow-manager believes are up. */
  liveChannels(): Promise<string[]>;
  saveMediaLeg(leg: StoredMediaLeg): Promise<void>;
  /** Forgets the leg of a call, if it is still this channel's (a newer leg of the call is kept). */
  removeMediaLeg(callId: string, channelId: string): Promise<void>;
  mediaLegs(): Promise<StoredMediaLeg[]>;
  saveObject(object: StoredObject): Promise<void>;
  removeObject(id: string): Promise<void>;
  objects(): Promise<StoredObject[]>;
  /** ARI ids of the bridges made over RPC that their owners have not destroyed. */
  customerBridges(): Promise<Set<string>>;
  /** Bridges made over RPC that no longer exist in Asterisk are recorded as destroyed. */
  forgetCustomerBridges(controlIds: string[]): Promise<void>;
  /**
   * Whether the AI session a call's media leg serves is still going on (asked for legs a
   * previous process created): false once the session or the call has ended.
   */
  sessionLive(callId: string): Promise<boolean>;
}
