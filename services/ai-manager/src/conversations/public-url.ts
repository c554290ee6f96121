import type { FastifyRequest } from 'fastify';

/**
 * Where this service is reached from outside: `PUBLIC_URL` when set (behind a proxy or TLS
 * terminator the request's own host and scheme are not what the vendor called), else the
 * request's scheme and `Host`.
 */
export function publicBase(request: FastifyRequest, publicUrl: string | undefined): string {
  return (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

/** The full URL the vendor called (path and query), as Twilio signs it. */
export function publicRequestUrl(request: FastifyRequest, publicUrl: string | undefined): string {
  return `${publicBase(request, publicUrl)}${request.url}`;
}
