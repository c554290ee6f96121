import { appError } from '@avp/shared';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../domain/customers/key-authenticator.ts';

const callers = new WeakMap<FastifyRequest, Caller>();

/** Records who an authenticated request acts for. */
export function setCaller(request: FastifyRequest, caller: Caller): void {
  callers.set(request, caller);
}

/** Who the request acts for; routes behind the key check always have one. */
export function callerOf(request: FastifyRequest): Caller {
  const caller = callers.get(request);
  if (!caller) throw appError('MISSING_CREDENTIALS');
  return caller;
}
