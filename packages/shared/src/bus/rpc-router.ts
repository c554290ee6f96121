import { randomUUID } from 'node:crypto';
import { ZodError } from 'zod';
import { appError, isAppError } from '../errors/app-error.ts';
import { toAppError } from '../http/error-handler.ts';
import type { RpcMethod, RpcRequest, RpcResponse } from '../schemas/envelopes.ts';
import type { Bus, RequestOptions, RpcHandler } from './bus.ts';
import { errorReply, replyToError } from './replies.ts';

/** What a route handler gets: path parameters, the query string and the JSON body. */
export interface RpcRouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  data: unknown;
  request: RpcRequest;
}

/** Returns the reply data (status 200), or `rpcReply(status, data)`; throws AppError for errors. */
export type RpcRouteHandler = (context: RpcRouteContext) => Promise<unknown>;

const replyMarker = Symbol('rpcReply');

interface MarkedReply extends RpcResponse {
  [replyMarker]: true;
}

/** A reply with a status other than 200 (201 Created, 202 Accepted, 204 No Content, ...). */
export function rpcReply(statusCode: number, data?: unknown): RpcResponse {
  const reply: MarkedReply = { status_code: statusCode, data, [replyMarker]: true };
  return reply;
}

function isMarkedReply(value: unknown): value is MarkedReply {
  return typeof value === 'object' && value !== null && replyMarker in value;
}

interface Route {
  method: RpcMethod;
  pattern: string;
  matcher: RegExp;
  names: string[];
  handler: RpcRouteHandler;
}

export interface RpcRouter {
  /** Adds a route; `pattern` is a path like `/v1/ais/:id` (parameters match one segment). */
  add(method: RpcMethod, pattern: string, handler: RpcRouteHandler): RpcRouter;
  /** The bus handler: dispatches by method and path, 404 `ROUTE_NOT_FOUND` when nothing matches. */
  handle: RpcHandler;
  /** The routes added, in order (tests that must cover every route enumerate them). */
  routes(): { method: RpcMethod; pattern: string }[];
}

/** Routes RPC requests `{uri, method, data}` to handlers, the way an HTTP router would. */
export function createRpcRouter(): RpcRouter {
  const routes: Route[] = [];
  const router: RpcRouter = {
    add(method, pattern, handler) {
      if (!pattern.startsWith('/')) throw new Error(`Route pattern must start with '/': ${pattern}`);
      const names: string[] = [];
      const source = pattern
        .split('/')
        .map((segment) => {
          if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(segment.slice(1));
          return '([^/]+)';
        })
        .join('/');
      routes.push({ method, pattern, matcher: new RegExp(`^${source}/?$`), names, handler });
      return router;
    },
    routes: () => routes.map(({ method, pattern }) => ({ method, pattern })),
    handle: async (request) => {
      const requestId = request.request_id ?? randomUUID();
      const url = new URL(request.uri, 'http://rpc.invalid');
      const path = url.pathname;
      const candidates = routes.filter((route) => route.matcher.test(path));
      const route = candidates.find((candidate) => candidate.method === request.method);
      if (!route) {
        const message =
          candidates.length > 0
            ? `${request.method} is not allowed on ${path}.`
            : `No route for ${request.method} ${path}.`;
        return errorReply(appError('ROUTE_NOT_FOUND', message), requestId);
      }
      const match = route.matcher.exec(path)!;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(match[index + 1]!);
      });
      try {
        const result = await route.handler({ params, query: url.searchParams, data: request.data, request });
        if (isMarkedReply(result)) return { status_code: result.status_code, data: result.data };
        return { status_code: 200, data: result };
      } catch (error) {
        // Bad input found by a zod schema is the caller's 400, like over HTTP.
        if (error instanceof ZodError) return errorReply(toAppError(error), requestId);
        // Unexpected errors go up to the bus server, which logs them and hides the details.
        if (!isAppError(error)) throw error;
        return errorReply(error, requestId);
      }
    },
  };
  return router;
}

/**
 * Calls a route of another service and returns its reply data; a reply with status >= 400
 * rejects with an AppError carrying the remote status, reason and message.
 */
export async function rpcCall<T = unknown>(
  bus: Bus,
  service: string,
  method: RpcMethod,
  uri: string,
  data?: unknown,
  options?: RequestOptions & { publisher?: string; requestId?: string },
): Promise<T> {
  const request: RpcRequest = { uri, method, data, publisher: options?.publisher, request_id: options?.requestId };
  const reply = await bus.request(service, request, options);
  if (reply.status_code >= 400) throw replyToError(reply, request);
  return reply.data as T;
}
