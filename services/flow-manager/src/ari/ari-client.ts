import type { AriBridge, AriChannel, AriLiveRecording, AriPlayback } from './ari-types.ts';

/** Where Asterisk's ARI is and who we are to it. */
export interface AriConnection {
  /** `http://host:8088` (ARI lives under `/ari`). */
  url: string;
  user: string;
  password: string;
  /** The Stasis application this service serves. */
  app: string;
}

/** An ARI REST error: the HTTP status and Asterisk's `message`. */
export class AriError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'AriError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/**
 * A typed client for the ARI REST calls flow-manager makes (channels, bridges, playbacks,
 * external media, asterisk info). Parameters go in the query string, as Asterisk documents
 * them; `variables` go in the JSON body.
 */
export class AriClient {
  private readonly authorization: string;

  constructor(
    readonly connection: AriConnection,
    private readonly timeoutMs = 10_000,
  ) {
    this.authorization = `Basic ${Buffer.from(`${connection.user}:${connection.password}`).toString('base64')}`;
  }

  async request<T>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const text = (await this.send(method, path, query, body)).toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A request whose answer is bytes (a stored recording's file). */
  private async send(method: string, path: string, query: Query = {}, body?: unknown, timeoutMs = this.timeoutMs): Promise<Buffer> {
    const url = new URL(`${this.connection.url.replace(/\/$/, '')}/ari${path}`);
    for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, String(value));
    const response = await fetch(url, {
      method,
      headers: { authorization: this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = response.ok ? '' : bytes.toString('utf8');
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // Not JSON: keep the text.
      }
      throw new AriError(response.status, `${method} ${path}: ${response.status} ${message}`);
    }
    return bytes;
  }

  info(): Promise<{ system?: { version?: string } }> {
    return this.request('GET', '/asterisk/info');
  }

  listChannels(): Promise<AriChannel[]> {
    return this.request('GET', '/channels');
  }

  getChannel(id: string): Promise<AriChannel> {
    return this.request('GET', `/channels/${encodeURIComponent(id)}`);
  }

  answer(id: string): Promise<void> {
    return this.request('POST', `/channels/${encodeURIComponent(id)}/answer`);
  }

  /** Hangs a channel up; `reason` is one of normal, busy, congestion, no_answer, ... */
  hangup(id: string, reason = 'normal'): Promise<void> {
    return this.request('DELETE', `/channels/${encodeURIComponent(id)}`, { reason });
  }

  originate(options: {
    endpoint: string;
    channelId: string;
    appArgs?: string;
    callerId?: string;
    timeout?: number;
    /** The channel this one is originated for: the new channel takes its formats and linkedid. */
    originator?: string;
    variables?: Record<string, string>;
  }): Promise<AriChannel> {
    const { variables, ...query } = options;
    return this.request('POST', '/channels', { ...query, app: this.connection.app }, variables ? { variables } : undefined);
  }

  play(channelId: string, media: string, playbackId: string, lang?: string): Promise<AriPlayback> {
    return this.request('POST', `/channels/${encodeURIComponent(channelId)}/play`, { media, playbackId, lang });
  }

  stopPlayback(playbackId: string): Promise<void> {
    return this.request('DELETE', `/playbacks/${encodeURIComponent(playbackId)}`);
  }

  setVariable(channelId: string, variable: string, value: string): Promise<void> {
    return this.request('POST', `/channels/${encodeURIComponent(channelId)}/variable`, { variable, value });
  }

  listBridges(): Promise<AriBridge[]> {
    return this.request('GET', '/bridges');
  }

  createBridge(bridgeId: string, name = ''): Promise<AriBridge> {
    return this.request('POST', '/bridges', { type: 'mixing', bridgeId, name });
  }

  addChannel(bridgeId: string, channels: string[]): Promise<void> {
    return this.request('POST', `/bridges/${encodeURIComponent(bridgeId)}/addChannel`, { channel: channels.join(',') });
  }

  removeChannel(bridgeId: string, channels: string[]): Promise<void> {
    return this.request('POST', `/bridges/${encodeURIComponent(bridgeId)}/removeChannel`, { channel: channels.join(',') });
  }

  destroyBridge(bridgeId: string): Promise<void> {
    return this.request('DELETE', `/bridges/${encodeURIComponent(bridgeId)}`);
  }

  /**
   * `POST /channels/{id}/snoop`: a Snoop channel on `channelId` that enters the app by itself
   * (StasisStart after Asterisk answered). `spy` `in` is what the channel receives from its far
   * end (the caller's voice), `out` what is sent to it (what the caller hears).
   */
  snoop(channelId: string, options: { snoopId: string; spy: 'in' | 'out' | 'both'; appArgs?: string }): Promise<AriChannel> {
    return this.request('POST', `/channels/${encodeURIComponent(channelId)}/snoop`, { ...options, app: this.connection.app });
  }

  /**
   * `POST /channels/{id}/record`: Asterisk records what the channel receives into
   * `<spool>/recording/<name>.<format>` (LiveRecording `queued`, then RecordingStarted,
   * RecordingFinished or RecordingFailed). The channel must be in the app and not in a bridge.
   */
  record(channelId: string, options: { name: string; format: string; ifExists: 'fail' | 'overwrite' | 'append'; beep: boolean; terminateOn: string; maxDurationSeconds: number; maxSilenceSeconds: number }): Promise<AriLiveRecording> {
    return this.request('POST', `/channels/${encodeURIComponent(channelId)}/record`, options);
  }

  /** `POST /recordings/live/{name}/stop`: ends a live recording (RecordingFinished follows); 404 once it ended. */
  stopLiveRecording(name: string): Promise<void> {
    return this.request('POST', `/recordings/live/${encodeURIComponent(name)}/stop`);
  }

  /** `GET /recordings/stored/{name}/file`: the file of a finished recording (an hour of 8 kHz audio is 58 MB: 2 minutes' deadline). */
  storedRecordingFile(name: string): Promise<Buffer> {
    return this.send('GET', `/recordings/stored/${encodeURIComponent(name)}/file`, {}, undefined, 120_000);
  }

  /** `DELETE /recordings/stored/{name}`. */
  deleteStoredRecording(name: string): Promise<void> {
    return this.request('DELETE', `/recordings/stored/${encodeURIComponent(name)}`);
  }

  /** `POST /channels/externalMedia` (RTP/UDP, AudioSocket or WebSocket media). */
  externalMedia(options: {
    channelId: string;
    external_host?: string;
    format: string;
    encapsulation?: string;
    transport?: string;
    connection_type?: string;
    direction?: string;
  }): Promise<AriChannel> {
    return this.request('POST', '/channels/externalMedia', { ...options, app: this.connection.app });
  }
}
