import { parseWav, toEngineRate } from '../media/wav.ts';
import type { MediaResolution } from './playback.ts';

/** `/var/cache/asterisk`, Asterisk's default astcachedir. */
export const DEFAULT_CACHE_DIRECTORY_LENGTH = 19;
/** `/bucket-XXXXXX`: the name res_http_media_cache gives a fetched file (before its extension). */
const BUCKET_FILE_NAME_LENGTH = 14;
const FETCH_TIMEOUT_MS = 10_000;

/** File types Asterisk's format_wav plays, and the only rate each accepts. */
type WavType = 'wav' | 'wav16';
const WAV_RATES: Record<WavType, number> = { wav: 8000, wav16: 16_000 };

/** Content types format_wav registers (compared case-insensitively, as Asterisk does). */
const MIME_TYPES: Record<string, WavType> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/x-wav;codec=pcm;bit=16;rate=8000': 'wav',
  'audio/x-wav;codec=pcm;bit=16;rate=16000': 'wav16',
};

/**
 * `sound:http(s)://...` as Asterisk 23.4's res_http_media_cache and file layer play it:
 * the URL is fetched (never its `#fragment`); the file type comes from the Content-Type, or
 * else from the extension at the end of the URL's path (where a fragment, which Asterisk's
 * URI parser keeps in the path, hides it); a WAV must be 16-bit mono PCM at 8 kHz (`.wav`)
 * or 16 kHz (`.wav16`). Anything else fails, and so does a file that was fetched but whose
 * cached copy's path does not fit Asterisk's buffer (see `cachedPathFits`).
 */
export async function fetchHttpMedia(uri: string, language: string, cacheDirectoryLength: number): Promise<MediaResolution> {
  const failed: MediaResolution = { kind: 'failed' };
  let body: Buffer;
  let contentType: string | null;
  try {
    const response = await fetch(uri.split('#')[0] as string, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) {
      await response.body?.cancel();
      return failed;
    }
    contentType = response.headers.get('content-type');
    body = Buffer.from(await response.arrayBuffer());
  } catch {
    return failed;
  }
  const type = typeFromContentType(contentType) ?? typeFromUrlPath(uri);
  if (!type || !cachedPathFits(uri, language, cacheDirectoryLength)) return failed;
  const samples = readAsteriskWav(body, WAV_RATES[type]);
  return samples ? { kind: 'samples', samples: toEngineRate({ sampleRate: WAV_RATES[type], samples }) } : failed;
}

/**
 * Asterisk 23's main/file.c sizes the buffer for the local file name as
 * `strlen(language) + strlen(uri) + 4` and media_cache.c copies the cached path
 * (`<cache dir>/bucket-XXXXXX.<ext>`) into it, truncating, then cuts the extension at the
 * last dot. The playback works only if the truncated copy still holds the whole name before
 * the extension, i.e. if that name is shorter than the buffer.
 */
export function cachedPathFits(uri: string, language: string, cacheDirectoryLength: number): boolean {
  return cacheDirectoryLength + BUCKET_FILE_NAME_LENGTH < language.length + uri.length + 4;
}

function typeFromContentType(value: string | null): WavType | undefined {
  if (!value) return undefined;
  const exact = MIME_TYPES[value.toLowerCase()];
  if (exact) return exact;
  // Then without parameters, as res_http_media_cache retries.
  const bare = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return MIME_TYPES[bare];
}

/** The path as Asterisk's fallback URI parser sees it: from the first `/` after the host to `?`, fragment included. */
function typeFromUrlPath(uri: string): WavType | undefined {
  const afterScheme = uri.slice(uri.indexOf('://') + 3);
  const slash = afterScheme.indexOf('/');
  if (slash < 0) return undefined;
  const path = afterScheme.slice(slash).split('?')[0] ?? '';
  const extension = path.slice(path.lastIndexOf('.') + 1);
  return path.includes('.') && (extension === 'wav' || extension === 'wav16') ? extension : undefined;
}

/** format_wav's header check: PCM, mono, 16 bits per sample, exactly the type's rate. */
function readAsteriskWav(body: Buffer, rate: number): Int16Array | null {
  if (body.length < 12 || body.toString('ascii', 0, 4) !== 'RIFF' || body.toString('ascii', 8, 12) !== 'WAVE') return null;
  for (let offset = 12; offset + 8 <= body.length; ) {
    const id = body.toString('ascii', offset, offset + 4);
    const size = body.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      if (size < 16 || offset + 24 > body.length) return null;
      const format = body.readUInt16LE(offset + 8);
      const channels = body.readUInt16LE(offset + 10);
      const sampleRate = body.readUInt32LE(offset + 12);
      const bytesPerSample = body.readUInt16LE(offset + 20);
      if (format !== 1 || channels !== 1 || sampleRate !== rate || bytesPerSample !== 2) return null;
      try {
        return parseWav(body).samples;
      } catch {
        return null;
      }
    }
    offset += 8 + size + (size % 2);
  }
  return null;
}
