import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

/** ARI credentials: HTTP basic auth, or `api_key=user:password` in the query string. */
export function isAuthorized(request: IncomingMessage, query: URLSearchParams, user: string, password: string): boolean {
  const expected = `${user}:${password}`;
  const apiKey = query.get('api_key');
  if (apiKey !== null) return safeEqual(apiKey, expected);
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return false;
  return safeEqual(Buffer.from(header.slice(6), 'base64').toString('utf8'), expected);
}

function safeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
