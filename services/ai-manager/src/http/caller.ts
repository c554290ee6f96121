import { appError } from '@avp/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../domain/customers/key-authenticator.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who an authenticated request acts for (set by the access-key check). */
    avpCaller: Caller | null;
  }
}

/**
 * Gives every request of `app` the caller slot, so setting it does not change the request
 * object's shape (a property decorated up front; a WeakMap entry per request would cost the
 * garbage collector more).
 */
export function decorateCaller(app: FastifyInstance): void {
  app.decorateRequest('avpCaller', null);
}

/** Records who an authenticated request acts for. */
export function setCaller(request: FastifyRequest, caller: Caller): void {
  request.avpCaller = caller;
}

/** Who the request acts for; routes behind the key check always have one. */
export function callerOf(request: FastifyRequest): Caller {
  const caller = request.avpCaller;
  if (!caller) throw appError('MISSING_CREDENTIALS');
  return caller;
}
