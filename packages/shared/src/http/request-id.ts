import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header that carries a request id in and out. */
export const requestIdHeader = 'x-request-id';

const acceptable = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Reuses a caller's `x-request-id` when it is short and plain (so ids survive an ingress),
 * otherwise makes a new UUID. Anything odd is replaced rather than trusted into logs.
 */
export function generateRequestId(request: IncomingMessage): string {
  const given = request.headers[requestIdHeader];
  if (typeof given === 'string' && acceptable.test(given)) return given;
  return randomUUID();
}
