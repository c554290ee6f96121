/**
 * The console's Content-Security-Policy: everything from the platform's own origin, no inline
 * script or style, no plugins, no framing, no other site. `connect-src 'self'` also allows the
 * same origin's WebSocket (`ws:`/`wss:`). `media-src blob:` is for audio the page makes itself.
 */
export const consoleContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "media-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
