import { randomUUID } from 'node:crypto';
import { appError, buildWav, resampleClip, synthesizeWithEspeak } from '@avp/shared';
import type { FastifyInstance } from 'fastify';
import type { SpeechRenderer } from './ari-telephony.ts';

interface StoredMedia {
  body: Buffer;
  expiresAt: number;
}

/**
 * Short-lived audio files that Asterisk fetches over HTTP to play (`media=http://.../x.wav`,
 * Asterisk's res_http_media_cache). The URL is the capability: a random id, no key, gone
 * after `ttlMs`.
 */
export class MediaStore {
  private readonly files = new Map<string, StoredMedia>();

  constructor(
    private readonly baseUrl: string | (() => string),
    private readonly ttlMs = 10 * 60_000,
    private readonly maxFiles = 10_000,
  ) {}

  /** Stores a WAV file and returns the URL Asterisk plays it from. */
  put(body: Buffer): string {
    const now = Date.now();
    for (const [id, file] of this.files) if (file.expiresAt <= now) this.files.delete(id);
    if (this.files.size >= this.maxFiles) this.files.delete(this.files.keys().next().value!);
    const id = randomUUID();
    this.files.set(id, { body, expiresAt: now + this.ttlMs });
    const base = typeof this.baseUrl === 'function' ? this.baseUrl() : this.baseUrl;
    return `${base.replace(/\/$/, '')}/media/${id}.wav`;
  }

  /** Serves `GET /media/<id>.wav`. */
  registerRoutes(app: FastifyInstance): void {
    app.get('/media/:file', async (request, reply) => {
      const { file } = request.params as { file: string };
      const stored = this.files.get(file.replace(/\.wav$/, ''));
      if (!stored || stored.expiresAt <= Date.now()) throw appError('RESOURCE_NOT_FOUND', 'No such media file.');
      return reply.type('audio/wav').send(stored.body);
    });
  }
}

/**
 * The `talk` action's speech: espeak-ng, resampled to 8 kHz (Asterisk's `.wav` format is
 * 8 kHz 16-bit mono), stored in the MediaStore for Asterisk to fetch.
 */
export class EspeakSpeechRenderer implements SpeechRenderer {
  constructor(private readonly store: MediaStore) {}

  async render(text: string, language: string, voice: string): Promise<{ uri: string; durationMs: number }> {
    const spoken = await synthesizeWithEspeak(text, { language, voice });
    const narrow = await resampleClip(spoken, 8000);
    return { uri: this.store.put(buildWav(narrow)), durationMs: Math.round((narrow.samples.length / narrow.sampleRate) * 1000) };
  }
}
