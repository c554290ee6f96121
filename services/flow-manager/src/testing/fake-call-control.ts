import type {
  CallControl,
  CallHandle,
  ConnectOption,
  DigitsOption,
  ExternalMedia,
  ExternalMediaRequest,
  OriginateRequest,
  SnoopMedia,
  SnoopMediaRequest,
  TalkOption,
} from '../domain/calls/call-control.ts';

/** A call control double: records what the engine asked for; talks can be held open. */
export class FakeCallControl implements CallControl {
  readonly operations: string[] = [];
  /** When set, talks wait until `releaseTalks()` (or an abort). */
  holdTalks = false;
  digits = '';
  connectAnswers = true;
  private readonly held: (() => void)[] = [];

  async answer(call: CallHandle): Promise<void> {
    this.operations.push(`answer ${call.id}`);
  }

  async talk(call: CallHandle, option: TalkOption, signal: AbortSignal): Promise<void> {
    this.operations.push(`talk ${option.text}`);
    if (!this.holdTalks) return;
    await new Promise<void>((resolve, reject) => {
      this.held.push(resolve);
      signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    });
  }

  releaseTalks(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }

  async play(call: CallHandle, urls: string[]): Promise<void> {
    this.operations.push(`play ${urls.join(',')}`);
  }

  async hangup(call: CallHandle, reason: string): Promise<void> {
    this.operations.push(`hangup ${reason}`);
  }

  async connect(call: CallHandle, option: ConnectOption): Promise<{ answered: boolean }> {
    this.operations.push(`connect ${option.destinations.map((destination) => destination.target).join(',')}`);
    return { answered: this.connectAnswers };
  }

  async originate(request: OriginateRequest): Promise<void> {
    this.operations.push(`originate ${request.destination.target}`);
  }

  async collectDigits(call: CallHandle, option: DigitsOption): Promise<string> {
    this.operations.push(`digits ${option.length}`);
    const collected = this.digits.slice(0, option.length);
    this.digits = this.digits.slice(option.length);
    return collected;
  }

  async startExternalMedia(call: CallHandle, request: ExternalMediaRequest): Promise<ExternalMedia> {
    this.operations.push(`external_media ${request.transport} ${request.externalHost ?? ''} ${request.format}`);
    return { channelId: `media-${call.id}`, bridgeId: `bridge-${call.id}`, localAddress: '127.0.0.1', localPort: 40000, pending: request.transport === 'websocket' };
  }

  async attachExternalMedia(call: CallHandle): Promise<ExternalMedia> {
    this.operations.push('external_media_attach');
    return { channelId: `media-${call.id}`, bridgeId: `bridge-${call.id}`, pending: false };
  }

  async stopExternalMedia(): Promise<void> {
    this.operations.push('external_media_stop');
  }

  async startSnoopMedia(call: CallHandle, request: SnoopMediaRequest): Promise<SnoopMedia> {
    this.operations.push(`snoop_media ${request.direction} ${request.externalHost} ${request.format}`);
    return { channelId: `snoop-${call.id}-rtp`, snoopChannelId: `snoop-${call.id}`, bridgeId: `snoop-${call.id}`, localAddress: '127.0.0.1', localPort: 40002 };
  }

  async stopSnoopMedia(call: CallHandle, channelId: string): Promise<boolean> {
    this.operations.push(`snoop_media_stop ${channelId}`);
    return channelId === `snoop-${call.id}-rtp`;
  }

  async startRecording(call: CallHandle, recordingId: string): Promise<void> {
    this.operations.push(`recording_start ${call.id} ${recordingId}`);
  }

  async stopRecording(call: CallHandle, recordingId: string): Promise<boolean> {
    this.operations.push(`recording_stop ${call.id} ${recordingId}`);
    return true;
  }

  async stopMedia(): Promise<void> {
    this.operations.push('stop_media');
  }

  async createBridge(name: string): Promise<string> {
    this.operations.push(`bridge_create ${name}`);
    return `bridge-${name}`;
  }

  async addToBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    this.operations.push(`bridge_add ${bridgeId} ${calls.map((call) => call.id).join(',')}`);
  }

  async removeFromBridge(bridgeId: string, calls: CallHandle[]): Promise<void> {
    this.operations.push(`bridge_remove ${bridgeId} ${calls.map((call) => call.id).join(',')}`);
  }

  async destroyBridge(bridgeId: string): Promise<void> {
    this.operations.push(`bridge_destroy ${bridgeId}`);
  }
}
