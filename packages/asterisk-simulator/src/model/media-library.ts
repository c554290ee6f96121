import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ENGINE_SAMPLE_RATE } from '../media/codecs.ts';
import { parseWav, readWavFile, sineTone, toEngineRate } from '../media/wav.ts';
import type { MediaAudio } from './playback.ts';

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

/**
 * Resolves ARI media URIs to audio. `sound:` looks in the registered sounds, then in
 * `<soundsDirectory>/<name>.wav`; `tone:` knows ring, busy, congestion, dial, beep and
 * `tone:<hz>`; `http(s)://...` fetches a WAV file, as Asterisk's res_http_media_cache does
 * (Asterisk 14+); anything else cannot be found (the playback then fails, as in Asterisk).
 */
export class MediaLibrary {
  private readonly sounds = new Map<string, Int16Array>();

  constructor(private readonly soundsDirectory?: string) {
    this.sounds.set('beep', sineTone(1000, 250));
    for (let seconds = 1; seconds <= 10; seconds += 1) {
      this.sounds.set(`silence/${seconds}`, new Int16Array(seconds * ENGINE_SAMPLE_RATE));
    }
  }

  /** Registers 16 kHz PCM under a sound name (`sound:<name>`). */
  addSound(name: string, samples: Int16Array): void {
    this.sounds.set(name, samples);
  }

  async resolve(uri: string): Promise<MediaAudio | null> {
    const colon = uri.indexOf(':');
    if (colon < 0) return null;
    const scheme = uri.slice(0, colon);
    const name = uri.slice(colon + 1);
    if (scheme === 'sound') {
      const known = this.sounds.get(name);
      if (known) return { kind: 'samples', samples: known };
      if (!this.soundsDirectory || name.includes('..')) return null;
      const path = join(this.soundsDirectory, `${name}.wav`);
      try {
        await access(path);
        return { kind: 'samples', samples: toEngineRate(await readWavFile(path)) };
      } catch {
        return null;
      }
    }
    if (scheme === 'http' || scheme === 'https') {
      try {
        const response = await fetch(uri, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) return null;
        return { kind: 'samples', samples: toEngineRate(parseWav(Buffer.from(await response.arrayBuffer()))) };
      } catch {
        return null;
      }
    }
    if (scheme === 'tone') {
      const tone = TONES[name];
      if (tone) return tone;
      const frequency = Number(name.split('/')[0]);
      if (Number.isFinite(frequency) && frequency > 0 && frequency < 8000) return cadencedTone([frequency], 1000, 0);
      return null;
    }
    return null;
  }
}
