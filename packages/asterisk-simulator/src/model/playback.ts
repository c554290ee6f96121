import { ENGINE_FRAME_SAMPLES, ENGINE_SAMPLE_RATE } from '../media/codecs.ts';

/** Playback states as ARI reports them. */
export type PlaybackState = 'queued' | 'playing' | 'continuing' | 'paused' | 'done' | 'failed' | 'cancelled';

/** The ARI Playback resource (playbacks.json `Playback`). */
export interface PlaybackJson {
  id: string;
  media_uri: string;
  next_media_uri?: string;
  target_uri: string;
  language: string;
  state: PlaybackState;
}

/** Audio for one media URI: finite samples, or an endless generator (tones). */
export type MediaAudio = { kind: 'samples'; samples: Int16Array } | { kind: 'tone'; frame: (sampleIndex: number) => number };

/**
 * What a media URI turned out to be: audio; `failed` (a supported scheme whose media cannot
 * be played: PlaybackFinished failed); or `unsupported` (a scheme Asterisk's playback does not
 * know, such as a bare `http://`: Asterisk logs "scheme is unsupported" and the playback ends
 * without any PlaybackFinished).
 */
export type MediaResolution = MediaAudio | { kind: 'failed' } | { kind: 'unsupported' };

/** Resolves a media URI; synchronous when nothing has to be read or fetched. */
export type MediaResolver = (uri: string) => MediaResolution | Promise<MediaResolution>;

/**
 * A queued or playing playback on a channel or bridge: its media URIs are played one after
 * the other, each resolved when its turn comes (as Asterisk fetches `sound:http://` media only
 * when it gets to it). The media engine drives it and publishes its events.
 */
export class Playback {
  state: PlaybackState = 'queued';
  /** skipms of the play request: how far forward/reverse move. */
  skipMs = 3000;
  private index = 0;
  private position = 0;
  private readonly resolutions: (MediaResolution | undefined)[] = [];
  private readonly requested = new Set<number>();

  constructor(
    readonly id: string,
    readonly mediaUris: string[],
    private readonly resolver: MediaResolver,
    readonly targetUri: string,
    readonly language = 'en',
    offsetMs = 0,
  ) {
    this.position = Math.round((offsetMs * ENGINE_SAMPLE_RATE) / 1000);
  }

  get currentUri(): string {
    return this.mediaUris[Math.min(this.index, this.mediaUris.length - 1)] ?? '';
  }

  get hasNext(): boolean {
    return this.index + 1 < this.mediaUris.length;
  }

  /** The current URI's resolution, starting it on first use; undefined while it is being read or fetched. */
  currentResolution(): MediaResolution | undefined {
    const index = this.index;
    if (!this.requested.has(index)) {
      this.requested.add(index);
      const uri = this.mediaUris[index] ?? '';
      let result: MediaResolution | Promise<MediaResolution>;
      try {
        result = this.resolver(uri);
      } catch {
        result = { kind: 'failed' };
      }
      if (result instanceof Promise) {
        result.then(
          (resolution) => {
            this.resolutions[index] = resolution;
          },
          () => {
            this.resolutions[index] = { kind: 'failed' };
          },
        );
      } else this.resolutions[index] = result;
    }
    return this.resolutions[index];
  }

  /** Moves on to the next media URI. */
  advance(): void {
    this.index += 1;
    this.position = 0;
  }

  toJson(): PlaybackJson {
    const json: PlaybackJson = {
      id: this.id,
      media_uri: this.currentUri,
      target_uri: this.targetUri,
      language: this.language,
      state: this.state,
    };
    const next = this.mediaUris[this.index + 1];
    if (next !== undefined) json.next_media_uri = next;
    return json;
  }

  restart(): void {
    this.index = 0;
    this.position = 0;
  }

  /** Moves the position by `ms` (negative rewinds) within the current media. */
  skip(ms: number): void {
    this.position = Math.max(0, this.position + Math.round((ms * ENGINE_SAMPLE_RATE) / 1000));
  }

  /** The next 20 ms of the current media's audio; null once it has played out (or has none). */
  nextFrame(): Int16Array | null {
    const audio = this.resolutions[this.index];
    if (!audio || (audio.kind !== 'samples' && audio.kind !== 'tone')) return null;
    const frame = new Int16Array(ENGINE_FRAME_SAMPLES);
    if (audio.kind === 'tone') {
      for (let sample = 0; sample < frame.length; sample += 1) frame[sample] = audio.frame(this.position + sample);
      this.position += ENGINE_FRAME_SAMPLES;
      return frame;
    }
    if (this.position >= audio.samples.length) return null;
    frame.set(audio.samples.subarray(this.position, this.position + ENGINE_FRAME_SAMPLES));
    this.position += ENGINE_FRAME_SAMPLES;
    return frame;
  }
}
