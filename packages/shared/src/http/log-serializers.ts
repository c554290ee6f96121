import type { FastifyRequest } from 'fastify';
import { secretLogPaths } from '../logging/create-logger.ts';

/**
 * Query parameters whose value is a credential, compared after percent-decoding the name
 * (`tok%65n` is `token`, and the server accepts it as one). The access key's own names come
 * first; the others are names clients put keys under by mistake.
 */
const credentialNames = new Set(['accesskey', 'token', 'access_key', 'access_token', 'api_key', 'apikey', 'key', 'secret', 'password', 'authorization']);

/**
 * Anything shaped like a platform secret: access keys (`avp_` + 43 base64url characters,
 * see generateAccessKey) and webhook secrets (`whsec_`). Shorter tails count too, so a key
 * cut or padded in transit is still hidden.
 */
const secretShape = /(avp|whsec)_[A-Za-z0-9_-]{16,}/gi;

/** Text with every key-shaped substring replaced by `<prefix>_[redacted]`. */
export function redactSecrets(text: string): string {
  return text.replace(secretShape, '$1_[redacted]');
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * A URL (path and query) fit for the logs: the value of every credential-named parameter is
 * replaced, names judged after percent-decoding; any path segment or value that holds
 * something shaped like a key once decoded (`avp%5F...`, a key under a wrong name) is
 * replaced as well. Other parts are kept as sent.
 */
export function redactCredentials(url: string): string {
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const query = queryStart < 0 ? undefined : url.slice(queryStart + 1);
  const safePath = path
    .split('/')
    .map((segment) => (hasSecret(segment) ? '[redacted]' : segment))
    .join('/');
  if (query === undefined) return safePath;
  const safeQuery = query
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      if (equals >= 0 && credentialNames.has(decoded(name).trim().toLowerCase())) return `${name}=[redacted]`;
      if (!hasSecret(pair)) return pair;
      return hasSecret(name) ? '[redacted]' : `${name}=[redacted]`;
    })
    .join('&');
  return `${safePath}?${safeQuery}`;
}

const secretShapeAnywhere = new RegExp(secretShape.source, 'i');

function hasSecret(text: string): boolean {
  return secretShapeAnywhere.test(decoded(text)) || secretShapeAnywhere.test(text);
}

/** Fastify's usual request log fields, with credentials in the URL redacted. */
export function requestLogSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactCredentials(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * The options of the HTTP server's child logger: the request serializer above, and key-shaped
 * text hidden in the message of a rejected request (a 404 names the path it was asked for).
 * A child's `redact` replaces its parent's, so the platform's secret fields are listed again.
 */
export const httpLoggerOptions = {
  serializers: { req: requestLogSerializer },
  redact: {
    paths: [...secretLogPaths, 'message'],
    censor: (value: unknown, path: string[]): unknown =>
      path[path.length - 1] === 'message' && typeof value === 'string' ? redactSecrets(value) : '<redacted>',
  },
};
