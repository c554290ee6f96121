import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installErrorHandling } from './error-handler.ts';
import { requestLogSerializer } from './log-serializers.ts';
import { generateRequestId, requestIdHeader } from './request-id.ts';

export interface HttpServerOptions {
  logger: Logger;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Behind a proxy/ingress: trust X-Forwarded-* (default false). */
  trustProxy?: boolean;
}

/**
 * A Fastify instance with the platform's conventions: request ids in and out
 * (`x-request-id`), every error and 404 as the catalog's body, and the given pino logger
 * (so every request log line carries `reqId`). Routes, health and metrics are added by
 * the caller.
 */
export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    // Access keys sent as ?accesskey= / ?token= never reach the request logs.
    loggerInstance: options.logger.child({}, { serializers: { req: requestLogSerializer } }),
    genReqId: generateRequestId,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: options.trustProxy ?? false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;
  app.addHook('onRequest', async (request, reply) => {
    reply.header(requestIdHeader, request.id);
  });
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
    void defaultJsonParser(request, text, done);
  });
  installErrorHandling(app);
  return app;
}
