import type { FastifyRequest } from 'fastify';

/**
 * The access key of a request: `Authorization: Bearer <key>`, else `?accesskey=<key>`, else
 * `?token=<key>` (browsers cannot set headers on a WebSocket, hence the query forms).
 */
export function accessKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return match[1];
  }
  const query = new URL(request.url, 'http://local.invalid').searchParams;
  return query.get('accesskey') || query.get('token') || undefined;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string is a UUID (any version), as path ids must be. */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}
