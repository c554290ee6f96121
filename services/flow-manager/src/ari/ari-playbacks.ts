import { randomUUID } from 'node:crypto';
import { appError } from '@avp/shared';
import type { AriClient } from './ari-client.ts';
import type { AriChannels } from './ari-channels.ts';
import type { StoredObject, TelephonyRecords } from './ari-records.ts';
import type { AriPlayback } from './ari-types.ts';
import { asteriskMediaUri } from './media-uri.ts';

/** Something waiting for an ARI event about a playback. */
interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/** How one playback is played. */
export interface PlayOptions {
  language?: string;
  /**
   * Longest wait for PlaybackFinished. Asterisk never sends it for some failures (a bare http
   * URI is refused after PlaybackStarted), so every playback has a deadline: the playback is
   * stopped and the wait fails with TELEPHONY_TIMEOUT.
   */
  timeoutMs: number;
}

/**
 * Playbacks on channels: each `play` waits for its PlaybackFinished, and ends early when its
 * signal aborts, the channel hangs up, the media is stopped or its deadline passes. Each is
 * recorded while it runs: one whose waiter died with its process is stopped by the next one.
 */
export class AriPlaybacks {
  private readonly playbacks = new Map<string, Waiter>();
  /** The channel each running playback plays on. */
  private readonly playbackChannels = new Map<string, string>();

  constructor(
    private readonly client: AriClient,
    private readonly channels: AriChannels,
    private readonly records: TelephonyRecords,
  ) {}

  /** Whether this process waits for the playback. */
  isKnown(playbackId: string): boolean {
    return this.playbacks.has(playbackId);
  }

  /** Stops a playback a previous process started (nobody waits for it any more) and forgets it. */
  async discard(playback: StoredObject): Promise<void> {
    await this.client.stopPlayback(playback.id).catch(() => undefined);
    await this.records.removeObject(playback.id);
  }

  async play(channelId: string, media: string, signal: AbortSignal, options: PlayOptions): Promise<void> {
    if (signal.aborted) throw new Error('aborted');
    const playbackId = randomUUID();
    const state = this.channels.state(channelId);
    const uri = asteriskMediaUri(media);
    const finished = new Promise<void>((resolve, reject) => {
      const onHangup = (error: Error) => done(error);
      const onAbort = () => {
        void this.client.stopPlayback(playbackId).catch(() => undefined);
        done(new Error('aborted'));
      };
      const timer = setTimeout(() => {
        void this.client.stopPlayback(playbackId).catch(() => undefined);
        done(appError('TELEPHONY_TIMEOUT', `Asterisk did not finish playing ${media} within ${Math.round(options.timeoutMs / 1000)} s.`));
      }, options.timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
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
      await this.records.saveObject({ id: playbackId, kind: 'playback', callId: undefined, callerChannelId: channelId, channelIds: [], bridgeId: undefined });
      await this.client.play(channelId, uri, playbackId, options.language);
    } catch (error) {
      this.playbacks.get(playbackId)?.reject(error as Error);
    }
    try {
      await finished;
    } finally {
      // A record that cannot be removed now is removed by the next reconcile (stopping a
      // finished playback is a harmless 404); the call must not fail for it.
      await this.records.removeObject(playbackId).catch(() => undefined);
    }
  }

  /** Stops every playback running on the channel. */
  async stopOn(channelId: string): Promise<void> {
    for (const [playbackId, waiter] of [...this.playbacks]) {
      if (this.playbackChannels.get(playbackId) !== channelId) continue;
      await this.client.stopPlayback(playbackId).catch(() => undefined);
      waiter.resolve();
    }
  }

  /** PlaybackFinished: its waiter goes on (or fails when Asterisk could not play it). */
  finished(playback: AriPlayback | undefined): void {
    const waiter = playback ? this.playbacks.get(playback.id) : undefined;
    if (!waiter || !playback) return;
    if (playback.state === 'failed') waiter.reject(appError('MEDIA_FAILED', `Asterisk could not play ${playback.media_uri}.`));
    else waiter.resolve();
  }
}
