import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ENGINE_SAMPLE_RATE } from '../media/codecs.ts';
import { readWavFile, sineTone, toEngineRate } from '../media/wav.ts';
import { DEFAULT_CACHE_DIRECTORY_LENGTH, fetchHttpMedia } from './http-media.ts';
import type { MediaAudio, MediaResolution } from './playback.ts';

const TAU = 2 * Math.PI;

/** Two-frequency cadenced tone, like Asterisk's indications.conf entries (US zone). */
function cadencedTone(frequencies: number[], onMs: number, offMs: number, amplitude = 6000): MediaAudio {
  const period = ((onMs + offMs) * ENGINE_SAMPLE_RATE) / 1000;
  const on = (onMs * ENGINE_SAMPLE_RATE) / 1000;
  return {
    kind: 'tone',
    frame: (index) => {
      if (offMs > 0 && index % period >= on) return 0;
      let value = 0;
      for (const frequency of frequencies) value += Math.sin((TAU * frequency * index) / ENGINE_SAMPLE_RATE);
      return Math.round((amplitude * value) / frequencies.length);
    },
  };
}

const TONES: Record<string, MediaAudio> = {
  ring: cadencedTone([440, 480], 2000, 4000),
  busy: cadencedTone([480, 620], 500, 500),
  congestion: cadencedTone([480, 620], 250, 250),
  dial: cadencedTone([350, 440], 1000, 0),
  beep: cadencedTone([1000], 1000, 0),
};

/** Schemes Asterisk's playback knows but whose media the simulator does not have (they fail). */
const KNOWN_SCHEMES_WITHOUT_MEDIA = new Set(['recording', 'number', 'digits', 'characters']);

/**
 * Resolves ARI media URIs to audio, as Asterisk 23's res_stasis_playback does. `sound:` looks
 * in the registered sounds, then in `<soundsDirectory>/<name>.wav`, and fetches
 * `sound:http(s)://...` like res_http_media_cache (see http-media.ts); `tone:` knows ring,
 * busy, congestion, dial, beep and `tone:<hz>`. Media that cannot be found fails; a scheme
 * Asterisk does not play at all, a bare `http://` among them, is `unsupported`.
 */
export class MediaLibrary {
  private readonly sounds = new Map<string, Int16Array>();

  constructor(
    private readonly soundsDirectory?: string,
    private readonly cacheDirectoryLength = DEFAULT_CACHE_DIRECTORY_LENGTH,
  ) {
    this.sounds.set('beep', sineTone(1000, 250));
    for (let seconds = 1; seconds <= 10; seconds += 1) {
      this.sounds.set(`silence/${seconds}`, new Int16Array(seconds * ENGINE_SAMPLE_RATE));
    }
  }

  /** Registers 16 kHz PCM under a sound name (`sound:<name>`). */
  addSound(name: string, samples: Int16Array): void {
    this.sounds.set(name, samples);
  }

  resolve(uri: string, language: string): MediaResolution | Promise<MediaResolution> {
    const colon = uri.indexOf(':');
    const scheme = colon < 0 ? '' : uri.slice(0, colon);
    const name = uri.slice(colon + 1);
    if (scheme === 'sound') return this.sound(name, language);
    if (scheme === 'tone') return tone(name);
    if (KNOWN_SCHEMES_WITHOUT_MEDIA.has(scheme)) return FAILED;
    return { kind: 'unsupported' };
  }

  private sound(name: string, language: string): MediaResolution | Promise<MediaResolution> {
    if (/^https?:\/\//i.test(name)) return fetchHttpMedia(name, language, this.cacheDirectoryLength);
    // Any other remote path goes to Asterisk's media cache, which has no backend for it.
    if (name.includes('://')) return FAILED;
    const known = this.sounds.get(name);
    if (known) return { kind: 'samples', samples: known };
    if (!this.soundsDirectory || name.includes('..')) return FAILED;
    return this.soundFile(join(this.soundsDirectory, `${name}.wav`));
  }

  private async soundFile(path: string): Promise<MediaResolution> {
    try {
      await access(path);
      return { kind: 'samples', samples: toEngineRate(await readWavFile(path)) };
    } catch {
      return FAILED;
    }
  }
}

const FAILED: MediaResolution = { kind: 'failed' };

function tone(name: string): MediaResolution {
  const known = TONES[name];
  if (known) return known;
  const frequency = Number(name.split('/')[0]);
  if (Number.isFinite(frequency) && frequency > 0 && frequency < 8000) return cadencedTone([frequency], 1000, 0);
  return FAILED;
}
