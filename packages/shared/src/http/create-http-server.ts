import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.ts';
import { clientErrorHandler, frameworkErrorHandler, installClosingGuard } from './framework-errors.ts';
import { lazyChildLoggerFactory } from './lazy-request-logger.ts';
import { httpLoggerOptions } from './log-serializers.ts';
import { installStorableStringGuard, jsonDepthExceeds, jsonTooDeepError } from './request-guards.ts';
import { generateRequestId, requestIdHeader } from './request-id.ts';

export interface HttpServerOptions {
  logger: Logger;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /**
   * Behind a proxy or ingress: the peers whose X-Forwarded-* headers are believed (addresses,
   * CIDR ranges or range names); the client's address (`request.ip`, which the
   * failed-authentication limit counts) is then the forwarded one. Default: none.
   */
  trustProxy?: boolean | string[];
}

/**
 * A Fastify instance with the platform's conventions: request ids in and out
 * (`x-request-id`), every error and 404 as the catalog's body (the framework's and the HTTP
 * parser's own refusals included), the request guards of `request-guards.ts`, and the given
 * pino logger (so every request log line carries `reqId`). Routes, health and metrics are
 * added by the caller.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    // Access keys in URLs (under any parameter name, percent-encoded or not) never reach the logs.
    loggerInstance: options.logger.child({}, httpLoggerOptions),
    // A request's child logger is made only once it logs something.
    childLoggerFactory: lazyChildLoggerFactory as unknown as FastifyServerOptions['childLoggerFactory'],
    genReqId: generateRequestId,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    // installClosingGuard answers those requests, with the catalog's body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: clientErrorHandler(options.logger),
  }) as unknown as FastifyInstance;
  // Hooks that run for every request are plain callbacks, not async functions: each async
  // hook costs a promise and a turn of the microtask queue per request.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header(requestIdHeader, request.id);
    done();
  });
  installClosingGuard(app);
  installStorableStringGuard(app);
  // A POST without a body but with `content-type: application/json` (curl -X POST -H ...)
  // is an empty body, not invalid JSON.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    if (jsonDepthExceeds(text)) {
      done(jsonTooDeepError(), undefined);
      return;
    }
    void defaultJsonParser(request, text, done);
  });
  installErrorHandling(app);
  return app;
}
