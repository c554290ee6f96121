/**
 * Shortest media URI handed to Asterisk for a file fetched over HTTP. Asterisk 23's file layer
 * sizes the buffer for the cached copy's local path by the length of the URI it was given
 * (`main/file.c`: preferred language + URI + 4), so a short URI makes the local path (cache
 * directory + `bucket-XXXXXX`) overflow and the playback fails ("does not exist in any
 * format") even though the file was fetched. A fragment pads the URI: HTTP clients never send
 * it, and the cache keys on the whole URI.
 */
const MIN_HTTP_MEDIA_URI_LENGTH = 120;

/**
 * A media URI Asterisk can play. Asterisk refuses a bare `http(s)://` URI ("scheme is
 * unsupported": PlaybackStarted is sent and PlaybackFinished never is); files fetched over HTTP
 * are played as `sound:http(s)://...`. Other URIs (`sound:`, `tone:`, `recording:`, `digits:`)
 * pass unchanged.
 */
export function asteriskMediaUri(uri: string): string {
  const http = /^https?:\/\//i.test(uri) ? uri : /^sound:https?:\/\//i.test(uri) ? uri.slice('sound:'.length) : undefined;
  if (http === undefined) return uri;
  const padding = MIN_HTTP_MEDIA_URI_LENGTH - http.length;
  if (padding <= 0) return `sound:${http}`;
  const separator = http.includes('#') ? '' : '#';
  return `sound:${http}${separator}${'0'.repeat(Math.max(0, padding - separator.length))}`;
}
