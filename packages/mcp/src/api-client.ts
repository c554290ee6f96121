/** The HTTP methods the platform's public API uses. */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One request to the public REST API, as a path under the API's base (`/v1.0/ais`). */
export interface ApiRequest {
  method: ApiMethod;
  path: string;
  /** Query parameters; undefined and empty values are left out. */
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

/** What the API answered: the status and the parsed JSON body (undefined when there was none). */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** A request on the wire: method, path with query, headers and a JSON text body. */
export interface WireRequest {
  method: ApiMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** Carries a request to one service of the platform and brings its answer back. */
export type ApiTransport = (request: WireRequest) => Promise<ApiResponse>;

/** The public API as one customer, authenticated with that customer's access key. */
export interface ApiClient {
  request(request: ApiRequest): Promise<ApiResponse>;
}

/**
 * The path prefixes flow-manager serves; everything else is ai-manager's. In the one-process
 * mode both are on one server, in the cluster mode flow-manager is a service of its own.
 */
export const flowManagerPaths = ['/v1.0/flows', '/v1.0/numbers', '/v1.0/calls', '/v1.0/activeflows', '/v1.0/recordings'] as const;

/** Whether flow-manager serves a path. */
export function isFlowManagerPath(path: string): boolean {
  return flowManagerPaths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`));
}

export interface ApiClientOptions {
  /** The caller's access key; every request carries it as `Authorization: Bearer <key>`. */
  accessKey: string;
  /** ai-manager's API (and flow-manager's too when `flowTransport` is not given). */
  transport: ApiTransport;
  /** flow-manager's API when it is served elsewhere. */
  flowTransport?: ApiTransport;
}

/**
 * A client of the public API for one access key. It never bypasses the API: whatever the key
 * may not see, the API refuses, exactly as for any other client.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  return {
    request: async ({ method, path, query, body }) => {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(query ?? {})) {
        if (value !== undefined && value !== '') search.set(name, String(value));
      }
      const url = search.size > 0 ? `${path}?${search.toString()}` : path;
      const headers: Record<string, string> = { authorization: `Bearer ${options.accessKey}`, accept: 'application/json' };
      let text: string | undefined;
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        text = JSON.stringify(body);
      }
      const transport = options.flowTransport && isFlowManagerPath(path) ? options.flowTransport : options.transport;
      return transport({ method, url, headers, ...(text !== undefined ? { body: text } : {}) });
    },
  };
}

/** Parses a JSON body; a body that is not JSON comes back as its text. */
function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Sends requests over HTTP to a base URL such as `http://127.0.0.1:8080` (no trailing `/v1.0`). */
export function fetchTransport(baseUrl: string, options: { timeoutMs?: number } = {}): ApiTransport {
  const base = baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async ({ method, url, headers, body }) => {
    const response = await fetch(`${base}${url}`, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: parseBody(await response.text()) };
  };
}

/** What `injectTransport` needs of a server: fastify's `inject`. */
export interface Injectable {
  inject(options: { method: ApiMethod; url: string; headers: Record<string, string>; payload?: string }): PromiseLike<{ statusCode: number; body: string }>;
}

/**
 * Sends requests into a server in the same process without a socket (fastify's `inject`):
 * they run the server's whole request path, key check and rate limit included.
 */
export function injectTransport(server: Injectable): ApiTransport {
  return async ({ method, url, headers, body }) => {
    const response = await server.inject({ method, url, headers, ...(body !== undefined ? { payload: body } : {}) });
    return { status: response.statusCode, body: parseBody(response.body) };
  };
}
