import { randomUUID } from 'node:crypto';
import { AppError, appError, isAppError } from '../errors/app-error.ts';
import { errorReasons, errorStatusForHttp, type ErrorReason } from '../errors/error-catalog.ts';
import type { Logger } from '../logging/create-logger.ts';
import { errorBodySchema } from '../errors/app-error.ts';
import { rpcRequestSchema, type RpcRequest, type RpcResponse } from '../schemas/envelopes.ts';
import type { RpcHandler } from './bus.ts';

/** The error reply for a failure: an AppError keeps its body; anything else is a hidden 500. */
export function errorReply(error: unknown, requestId: string): RpcResponse {
  const known = isAppError(error) ? error : appError('INTERNAL');
  return { status_code: known.httpStatus, data: known.toBody(requestId) };
}

/** A catalog error as a reply (used by the transports for 404 / 503). */
export function reasonReply(reason: ErrorReason, requestId: string, message?: string): RpcResponse {
  return errorReply(appError(reason, message), requestId);
}

/**
 * Runs a handler for a raw request as both bus implementations do: validates the
 * envelope, never throws, and hides the details of unexpected errors (they are logged).
 */
export async function runRpcHandler(handler: RpcHandler, raw: unknown, logger: Logger): Promise<RpcResponse> {
  const parsed = rpcRequestSchema.safeParse(raw);
  const requestId = (parsed.success ? parsed.data.request_id : undefined) ?? randomUUID();
  if (!parsed.success) return reasonReply('INVALID_REQUEST', requestId, 'The request envelope is malformed.');
  try {
    const reply = await handler(parsed.data);
    return reply;
  } catch (error) {
    if (!isAppError(error)) {
      logger.error({ err: error, uri: parsed.data.uri, method: parsed.data.method, requestId }, 'rpc handler failed');
    }
    return errorReply(error, requestId);
  }
}

/** Turns an error reply back into an AppError with the same status, reason and message. */
export function replyToError(reply: RpcResponse, request: RpcRequest): AppError {
  const body = errorBodySchema.safeParse(reply.data);
  if (body.success) {
    const { reason, message, status, details } = body.data.error;
    return new AppError(reason, { message, status, details });
  }
  const status = errorStatusForHttp(reply.status_code);
  const reason = (Object.keys(errorReasons) as ErrorReason[]).find((key) => errorReasons[key].status === status);
  return new AppError(reason ?? 'INTERNAL', {
    status,
    message: `${request.method} ${request.uri} failed with status ${reply.status_code}`,
  });
}

/** The AppError a request rejects with when no reply arrives in time. */
export function timeoutError(service: string, request: RpcRequest, timeoutMs: number): AppError {
  return appError(
    'RPC_TIMEOUT',
    `${service} did not answer ${request.method} ${request.uri} within ${timeoutMs} ms.`,
  );
}

/**
 * Whether an AMQP topic pattern matches a routing key: words are separated by dots, `*`
 * matches exactly one word and `#` zero or more.
 */
export function topicMatches(pattern: string, key: string): boolean {
  const patternWords = pattern.split('.');
  const keyWords = key.split('.');
  const match = (p: number, k: number): boolean => {
    if (p === patternWords.length) return k === keyWords.length;
    const word = patternWords[p];
    if (word === '#') {
      for (let skip = k; skip <= keyWords.length; skip++) if (match(p + 1, skip)) return true;
      return false;
    }
    if (k === keyWords.length) return false;
    return (word === '*' || word === keyWords[k]) && match(p + 1, k + 1);
  };
  return match(0, 0);
}
