import type { FastifyRequest } from 'fastify';

const credentialParameters = /([?&](?:accesskey|token)=)[^&#]*/gi;

/** The URL with the values of `accesskey` and `token` replaced, so keys never reach the logs. */
export function redactCredentials(url: string): string {
  return url.replace(credentialParameters, '$1[redacted]');
}

/** Fastify's usual request log fields, with access keys in the query string redacted. */
export function requestLogSerializer(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactCredentials(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
