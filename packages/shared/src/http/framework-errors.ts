import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error.ts';
import { requestIdHeader } from './request-id.ts';

/**
 * The answers Fastify and Node's HTTP parser would otherwise write themselves, in their own
 * body and without a request id: a bad URL, an overlong path segment, a request that is not
 * HTTP or whose headers are too large, and requests that arrive while the server closes. Each
 * becomes the catalog's body with `request_id` and the `x-request-id` header.
 */

/** Fastify's `frameworkErrors`: routing failures, before any route or hook ran. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const appError = frameworkAppError(error);
  if (appError.httpStatus >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ reason: appError.reason, code: error.code }, 'request rejected');
  void reply
    .status(appError.httpStatus)
    .header(requestIdHeader, request.id)
    .send(appError.toBody(String(request.id)));
}

function frameworkAppError(error: FastifyError): AppError {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return new AppError('INVALID_URL');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('URI_TOO_LONG');
    default:
      return new AppError('INTERNAL', { cause: error });
  }
}

/**
 * Node's `clientError`: the request could not be parsed, so there is no request object and
 * no caller id to reuse. Writes the answer on the socket (when it can still be written) and
 * closes it, as Node and Fastify do.
 */
export function clientErrorHandler(logger: Logger): NonNullable<FastifyServerOptions['clientErrorHandler']> {
  return (error: Error & { code?: string }, socket: Socket) => {
    // A reset connection, or one already gone, has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const appError = clientAppError(error.code);
    const requestId = randomUUID();
    logger.info({ reqId: requestId, reason: appError.reason, code: error.code }, 'request rejected by the HTTP parser');
    if (socket.writable) {
      const body = JSON.stringify(appError.toBody(requestId));
      const status = appError.httpStatus;
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `${requestIdHeader}: ${requestId}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy(error);
  };
}

function clientAppError(code: string | undefined): AppError {
  if (code === 'HPE_HEADER_OVERFLOW') return new AppError('HEADERS_TOO_LARGE');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('REQUEST_TIMEOUT');
  return new AppError('MALFORMED_REQUEST');
}

/**
 * While the server closes, new requests (pipelined, or on a connection still open) are
 * answered 503 with the catalog's body; requests already running finish. Replaces Fastify's
 * own `return503OnClosing` answer, which has no request id.
 */
export function installClosingGuard(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) {
      done();
      return;
    }
    reply.header('connection', 'close');
    done(new AppError('SERVICE_UNAVAILABLE', { message: 'The service is shutting down.' }));
  });
}
