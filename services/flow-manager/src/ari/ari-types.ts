/** The subset of ARI's JSON this service reads (Asterisk 20-23, rest-api/api-docs). */
export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller: AriCallerId;
  connected?: AriCallerId;
  dialplan?: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
  creationtime?: string;
  channelvars?: Record<string, string>;
}

export interface AriBridge {
  id: string;
  technology: string;
  bridge_type: string;
  channels: string[];
}

export interface AriPlayback {
  id: string;
  media_uri: string;
  target_uri: string;
  state: string;
}

/** A recording Asterisk makes (`POST /channels/{id}/record`); `duration` in whole seconds once it ended. */
export interface AriLiveRecording {
  name: string;
  format: string;
  /** `queued`, `recording`, `paused`, `done`, `failed`, `canceled`. */
  state: string;
  target_uri: string;
  duration?: number;
  cause?: string;
}

/** An event from `/ari/events`; fields by type as in events.json. */
export interface AriEvent {
  type: string;
  application?: string;
  timestamp?: string;
  args?: string[];
  channel?: AriChannel;
  bridge?: AriBridge;
  playback?: AriPlayback;
  /** RecordingStarted, RecordingFinished, RecordingFailed. */
  recording?: AriLiveRecording;
  digit?: string;
  duration_ms?: number;
  cause?: number;
  cause_txt?: string;
  /** Dial: the channel dialled (an originated one), and `""`, `RINGING`, `ANSWER`, `BUSY`, `NOANSWER`, ... */
  peer?: AriChannel;
  dialstatus?: string;
  /** ChannelHangupRequest: the hang-up was asked for (ARI, a soft hang-up) rather than done by the far end. */
  soft?: boolean;
}
