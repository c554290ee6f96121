import { ENGINE_FRAME_SAMPLES, ENGINE_SAMPLE_RATE } from '../media/codecs.ts';

/** Playback states as ARI reports them. */
export type PlaybackState = 'queued' | 'playing' | 'paused' | 'done' | 'failed' | 'cancelled';

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

/** A queued or playing playback on a channel or bridge. */
export class Playback {
  state: PlaybackState = 'queued';
  /** skipms of the play request: how far forward/reverse move. */
  skipMs = 3000;
  private index = 0;
  private position = 0;

  constructor(
    readonly id: string,
    readonly mediaUris: string[],
    /** Resolved audio per URI (null = cannot be found: the playback fails). */
    readonly audio: (MediaAudio | null)[],
    readonly targetUri: string,
    readonly language = 'en',
    offsetMs = 0,
  ) {
    this.position = Math.round((offsetMs * ENGINE_SAMPLE_RATE) / 1000);
  }

  get currentUri(): string {
    return this.mediaUris[Math.min(this.index, this.mediaUris.length - 1)] ?? '';
  }

  get failed(): boolean {
    return this.audio.some((audio) => audio === null);
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

  /** The next 20 ms of audio; null once every media URI has played. */
  nextFrame(): Int16Array | null {
    while (this.index < this.audio.length) {
      const audio = this.audio[this.index];
      if (!audio) return null;
      if (audio.kind === 'tone') {
        const frame = new Int16Array(ENGINE_FRAME_SAMPLES);
        for (let sample = 0; sample < frame.length; sample += 1) frame[sample] = audio.frame(this.position + sample);
        this.position += ENGINE_FRAME_SAMPLES;
        return frame;
      }
      if (this.position < audio.samples.length) {
        const frame = new Int16Array(ENGINE_FRAME_SAMPLES);
        frame.set(audio.samples.subarray(this.position, this.position + ENGINE_FRAME_SAMPLES));
        this.position += ENGINE_FRAME_SAMPLES;
        return frame;
      }
      this.index += 1;
      this.position = 0;
    }
    return null;
  }
}
