import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { AppError, isAppError } from '../errors/app-error.ts';
import { errorStatusForHttp } from '../errors/error-catalog.ts';

/**
 * Turns anything thrown by a route (or by Fastify itself) into the catalog's public body.
 * 4xx keep their message; 5xx are logged with their details and answered with a generic
 * message, so internals never leak to clients.
 */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (error instanceof ZodError) return validationError(error.issues.map(describeZodIssue));
  const fastifyError = error as Partial<FastifyError> & { validation?: unknown[]; validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    const context = fastifyError.validationContext ?? 'request';
    const problems = fastifyError.validation.map((issue) => describeValidationIssue(issue, context));
    return validationError(problems);
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('INVALID_JSON_BODY', { message: fastifyError.message });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('BODY_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE');
    default:
      break;
  }
  if (error instanceof SyntaxError && fastifyError.statusCode === 400) {
    return new AppError('INVALID_JSON_BODY', { message: error.message });
  }
  const code = fastifyError.statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) {
    if (code === 429) return new AppError('RATE_LIMITED');
    return new AppError('INVALID_REQUEST', { status: errorStatusForHttp(code), message: fastifyError.message });
  }
  return new AppError('INTERNAL', { cause: error });
}

function validationError(problems: string[]): AppError {
  return new AppError('VALIDATION_FAILED', {
    message: problems.length > 0 ? problems.join('; ') : 'The request is not valid.',
    details: { problems },
  });
}

function describeZodIssue(issue: ZodError['issues'][number]): string {
  const field = issue.path.length > 0 ? issue.path.join('.') : '(body)';
  return `${field}: ${issue.message}`;
}

function describeValidationIssue(issue: unknown, context: string): string {
  const value = issue as { instancePath?: string; path?: (string | number)[]; message?: string };
  const path = value.path?.join('.') ?? value.instancePath?.replace(/^\//, '').replaceAll('/', '.');
  const field = path ? path : `(${context})`;
  return `${field}: ${value.message ?? 'is not valid'}`;
}

/** Installs the error handler and a 404 handler that answers with the catalog's body. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error);
    if (appError.httpStatus >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ reason: appError.reason, message: appError.message }, 'request rejected');
    }
    if (appError.reason === 'RATE_LIMITED' && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return reply.status(appError.httpStatus).send(appError.toBody(String(request.id)));
  });
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const error = new AppError('ROUTE_NOT_FOUND', { message: `No route ${request.method} ${request.url.split('?')[0]}.` });
    return reply.status(404).send(error.toBody(String(request.id)));
  });
}
